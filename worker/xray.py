"""The X-Ray backend of :mod:`worker.tracing`: the one module that imports ``aws_xray_sdk``.

Imported only when a process traces (:func:`worker.tracing.make_tracer` with a daemon address). The SDK supplies
the entity model (segments, subsegments, the facade Lambda's segment is known by) and the daemon's wire format;
documents go out over one UDP socket of our own (docs/tracing.md).
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from aws_xray_sdk.core import xray_recorder as _global_recorder  # noqa: TID251
from aws_xray_sdk.core.emitters.udp_emitter import PROTOCOL_DELIMITER, PROTOCOL_HEADER  # noqa: TID251  # the seam
from aws_xray_sdk.core.models.facade_segment import FacadeSegment  # noqa: TID251
from aws_xray_sdk.core.models.segment import Segment  # noqa: TID251
from aws_xray_sdk.core.models.subsegment import Subsegment  # noqa: TID251

from worker.tracing import OnEnd, RequestTrace, TraceHeader, new_trace_id, parse_trace_header

# Importing the SDK builds its global recorder, whose UDP emitter opens a socket at once. We never use that
# recorder (each request trace sends its own documents), so release the socket instead of leaking it.
_global_recorder.emitter._socket.close()

log = logging.getLogger(__name__)


class XRayTracer:
    """Sends each request's trace to an X-Ray daemon over UDP (``host:port``).

    ``lambda_mode``: the request becomes a subsegment of Lambda's segment named by ``trace_header`` (nothing is
    sent without a sampled header); otherwise a segment of its own, continuing ``trace_header`` if given and
    recording every request unless the header says ``Sampled=0``.
    """

    def __init__(self, daemon_address: str, lambda_mode: bool = False) -> None:
        self.address = _udp_address(daemon_address)
        self.lambda_mode = lambda_mode
        # One unconnected non-blocking socket: sendto is thread-safe and never waits for a missing daemon.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.setblocking(False)

    def close(self) -> None:
        """Close the socket (sends after this are dropped and logged)."""
        self._socket.close()

    def send(self, entity: Any) -> None:
        """Send one segment document in the daemon's wire format (header line, newline, JSON)."""
        message = f"{PROTOCOL_HEADER}{PROTOCOL_DELIMITER}{entity.serialize()}"
        self._socket.sendto(message.encode("utf-8"), self.address)

    def request(self, name: str, trace_header: str | None = None, on_end: OnEnd | None = None) -> RequestTrace:
        """A trace whose root entity is sent to the daemon when it ends."""
        header = parse_trace_header(trace_header)
        try:
            root = self._lambda_root(name, header) if self.lambda_mode else self._segment_root(name, header)
        except Exception:
            log.warning("could not start a trace", exc_info=True)
            root = None
        trace_id = root.trace_id if root is not None else header.root or new_trace_id()
        return RequestTrace(trace_id, root, self.send, on_end, child=_child)

    @staticmethod
    def _lambda_root(name: str, header: TraceHeader) -> Any:
        if not (header.root and header.parent and header.sampled == "1"):
            return None
        facade = FacadeSegment("facade", entityid=header.parent, traceid=header.root, sampled=True)
        root = Subsegment(name, "local", facade)
        facade.add_subsegment(root)
        return root

    @staticmethod
    def _segment_root(name: str, header: TraceHeader) -> Any:
        if header.sampled == "0":
            return None
        return Segment(name, traceid=header.root or new_trace_id(), parent_id=header.parent)


def _child(name: str, root: Any) -> Any:
    """A new subsegment of the segment ``root`` belongs to (``root`` itself, or Lambda's facade)."""
    return Subsegment(name, "local", getattr(root, "parent_segment", root))


def _udp_address(value: str) -> tuple[str, int]:
    """``host:port``, or the daemon's two-address form ``tcp:host:port udp:host:port`` (UDP is what we use)."""
    for part in value.split():
        if part.startswith("udp:") or len(value.split()) == 1:
            host, _, port = part.removeprefix("udp:").rpartition(":")
            return host, int(port)
    raise ValueError(f"no UDP address in {value!r}")
