"""Request tracing behind a small interface: the trace a request annotates, and the tracer for this process.

A :class:`Tracer` opens one :class:`RequestTrace` per request. The trace owns its X-Ray entities explicitly
instead of using the SDK's global recorder, whose thread-local context cannot follow a response body that is
produced lazily, after the handler returned, possibly on another thread. So there is no sampler, no plugin, no
patching and no ``context_missing`` to configure: the SDK supplies the entity model, trace header parsing and
the UDP emitter. Nothing here raises into the request path: a tracing failure is logged and dropped.

Modes (:func:`make_tracer`): in Lambda, the request is a subsegment under Lambda's own segment (from
``_X_AMZN_TRACE_ID``); elsewhere with a daemon address, a segment of its own; otherwise a :class:`NullTracer`
that still issues trace ids. Only the first two import ``aws_xray_sdk`` (worker/xray.py, the one module that
does): outside Lambda, importing it builds the SDK's global recorder with a botocore X-Ray client we never use,
~20 MB and ~0.1 s that a process without a daemon does not pay. Re-implementing worker/xray.py on OpenTelemetry
keeps every signature here.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from edge.trace_context import parse_trace_context

Annotation = str | int | float | bool
OnEnd = Callable[[Mapping[str, object]], None]
NewChild = Callable[[str, Any], Any]  # (name, root entity) -> a child entity of the root's segment

LAMBDA_FUNCTION_NAME = "AWS_LAMBDA_FUNCTION_NAME"
DAEMON_ADDRESS = "AWS_XRAY_DAEMON_ADDRESS"
SDK_ENABLED = "AWS_XRAY_SDK_ENABLED"
LAMBDA_TRACE_HEADER = "_X_AMZN_TRACE_ID"

_KEY = re.compile(r"[A-Za-z0-9_]{1,500}")  # X-Ray annotation keys: alphanumerics and underscore
_MAX_VALUE = 1000  # X-Ray keeps annotation string values up to 1,000 characters
_TRACE_ID = re.compile(r"1-[0-9a-f]{8}-[0-9a-f]{24}")
_ENTITY_ID = re.compile(r"[0-9a-f]{16}")
log = logging.getLogger(__name__)


def new_trace_id(now: float | None = None) -> str:
    """A fresh X-Ray trace id: version, epoch seconds in hex, 96 random bits.

    Example: ``1-6650a1b2-5f8c0e2a9b3d4c1e7f6a0b9c`` (random part differs per call).
    """
    return f"1-{int(time.time() if now is None else now):08x}-{os.urandom(12).hex()}"


def _safely(action: Callable[[], object]) -> None:
    """Run one SDK call; tracing must never break a download, so failures are logged and dropped."""
    try:
        action()
    except Exception:
        log.warning("tracing call failed", exc_info=True)


def _clean(key: str, value: object) -> Annotation | None:
    if not _KEY.fullmatch(key) or not isinstance(value, str | int | float | bool):
        log.warning("dropping annotation %r: keys are [A-Za-z0-9_], values str/int/float/bool", key)
        return None
    return value[:_MAX_VALUE] if isinstance(value, str) else value


class Span:
    """One subsegment: annotate it, then end it (once; later calls are ignored)."""

    def __init__(self, entity: Any = None) -> None:
        self._entity = entity
        self._lock = threading.Lock()

    def annotate(self, key: str, value: Annotation) -> None:
        """Add an indexed annotation to this subsegment (invalid keys or values are dropped)."""
        clean = _clean(key, value)
        if clean is not None and self._entity is not None:
            _safely(lambda: self._entity.put_annotation(key, clean))

    def end(self, error: BaseException | None = None, end_time: float | None = None) -> None:
        """Close the subsegment, recording ``error`` as its cause (a fault)."""
        entity = self._entity
        with self._lock:
            if entity is None or not entity.in_progress:
                return
            if error is not None:
                _safely(lambda: entity.add_exception(error, traceback.extract_tb(error.__traceback__)))
            _safely(lambda: entity.close(end_time if end_time is not None else time.time()))


class RequestTrace:
    """One request's trace: its root entity (a segment, a subsegment in Lambda, or nothing) and its children.
    The backend that made ``root`` passes ``send`` (the finished root goes there) and ``child`` (how to open a
    child entity); without ``child`` no subsegment is recorded.

    Use it as a context manager: leaving the block ends the trace, unless a :class:`TracedBody` took it over
    (the body then ends it when the stream completes, fails or is closed).
    """

    def __init__(
        self,
        trace_id: str,
        root: Any = None,
        send: Callable[[Any], None] | None = None,
        on_end: OnEnd | None = None,
        child: NewChild | None = None,
    ) -> None:
        self.trace_id = trace_id
        self._root = root
        self._send = send
        self._child = child
        self._on_end = on_end
        self._annotations: dict[str, Annotation] = {}
        self._started = time.time()
        self._first_byte: float | None = None
        self._ending = False
        self._ended: float | None = None
        self._error: BaseException | None = None
        self._handed_off = False
        self._lock = threading.Lock()

    def __enter__(self) -> RequestTrace:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is not None or not self._handed_off:
            self.end(exc)

    @property
    def annotations(self) -> Mapping[str, Annotation]:
        """The request-level annotations recorded so far (a copy)."""
        return dict(self._annotations)

    def annotate(self, key: str, value: Annotation) -> None:
        """Annotate the request (indexed in X-Ray; also part of :meth:`summary`). ``status`` sets error flags."""
        clean = _clean(key, value)
        if clean is None:
            return
        self._annotations[key] = clean
        root = self._root
        if root is not None and self._ended is None:
            _safely(lambda: root.put_annotation(key, clean))
            if key == "status" and isinstance(clean, int) and not isinstance(clean, bool):
                _safely(lambda: root.apply_status_code(clean))

    def start_subsegment(self, name: str, start_time: float | None = None) -> Span:
        """Open a child subsegment of the request now (or at ``start_time``); the caller must end it."""
        root, new_child = self._root, self._child
        if root is None or new_child is None or self._ended is not None:
            return Span()
        try:
            child = new_child(name, root)
            if start_time is not None:
                child.start_time = start_time
            root.add_subsegment(child)
        except Exception:
            log.warning("could not open subsegment %s", name, exc_info=True)
            return Span()
        return Span(child)

    @contextmanager
    def subsegment(self, name: str) -> Iterator[Span]:
        """A child subsegment around a block; an exception escaping the block is recorded, then re-raised."""
        span = self.start_subsegment(name)
        try:
            yield span
        except BaseException as error:
            span.end(error)
            raise
        span.end()

    def record_subsegment(
        self, name: str, start: float, end: float, annotations: Mapping[str, Annotation] | None = None
    ) -> None:
        """Record a finished child subsegment from timestamps (epoch seconds), e.g. the edge's own work."""
        span = self.start_subsegment(name, start_time=start)
        for key, value in (annotations or {}).items():
            span.annotate(key, value)
        span.end(end_time=end)

    def mark_first_byte(self) -> None:
        """Note when the first body byte left (for ``ttfb_ms``); later calls are ignored."""
        if self._first_byte is None:
            self._first_byte = time.time()

    def hand_off(self) -> None:
        """Leave ending to someone else (a streaming body): leaving the ``with`` block no longer ends the trace."""
        self._handed_off = True

    def end(self, error: BaseException | None = None) -> None:
        """End the request once: close open children, record ``error``, send the trace, call ``on_end``."""
        with self._lock:
            if self._ending:
                return
            self._ending = True
        self._error = error
        code = getattr(error, "code", None)
        if isinstance(code, str):
            self.annotate("error_code", code)
        end_time = time.time()
        root, send, on_end = self._root, self._send, self._on_end
        if root is not None:
            for child in list(getattr(root, "subsegments", ())):
                Span(child).end(end_time=end_time)
            Span(root).end(error, end_time=end_time)
            if send is not None:
                _safely(lambda: send(root))
        self._ended = end_time
        if on_end is not None:
            _safely(lambda: on_end(self.summary()))

    def summary(self) -> dict[str, object]:
        """Everything worth one log line: trace id, annotations, ``ttfb_ms``, ``duration_ms``, error."""
        end = self._ended if self._ended is not None else time.time()
        first = self._first_byte if self._first_byte is not None else end
        fields: dict[str, object] = {"trace_id": self.trace_id, **self._annotations}
        fields["ttfb_ms"] = round((first - self._started) * 1000, 3)
        fields["duration_ms"] = round((end - self._started) * 1000, 3)
        if self._error is not None:
            fields["error"] = type(self._error).__name__
        return fields


def record_edge(trace: RequestTrace, header_value: str | None) -> None:
    """Draw the ``edge`` subsegment from the ``x-download-trace`` header (a malformed header is ignored)."""
    context = parse_trace_context(header_value)
    if context is not None:
        notes = {"edge_request_id": context.request_id, "edge_region": context.region, "decision": context.decision}
        trace.record_subsegment("edge", context.start, context.end, notes)


class Tracer(Protocol):
    """Opens one trace per request. ``trace_header`` is an X-Ray header (``Root=…;Parent=…;Sampled=…``)."""

    def request(self, name: str, trace_header: str | None = None, on_end: OnEnd | None = None) -> RequestTrace:
        """A new request trace; use it as a context manager."""
        ...

    def close(self) -> None:
        """Release what the tracer holds (a socket); requests started later record nothing."""
        ...


class NullTracer:
    """Records nothing but still issues trace ids (continuing ``trace_header``'s root when there is one)."""

    def request(self, name: str, trace_header: str | None = None, on_end: OnEnd | None = None) -> RequestTrace:
        """A trace that only keeps its id, annotations and timings (for the log line)."""
        root = parse_trace_header(trace_header).root
        return RequestTrace(root or new_trace_id(), on_end=on_end)

    def close(self) -> None:
        """Nothing to release."""


@dataclass(frozen=True)
class TraceHeader:
    """The parts of an X-Ray trace header we use; a malformed root or parent is dropped, never echoed."""

    root: str | None = None
    parent: str | None = None
    sampled: str | None = None


def parse_trace_header(value: str | None) -> TraceHeader:
    """Parse ``Root=1-…;Parent=…;Sampled=1`` (any order, other keys ignored).

    >>> parse_trace_header("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1").sampled
    '1'
    """
    fields = dict(part.strip().partition("=")[::2] for part in (value or "").split(";") if "=" in part)
    root, parent = fields.get("Root", ""), fields.get("Parent", "")
    return TraceHeader(
        root if _TRACE_ID.fullmatch(root) else None,
        parent if _ENTITY_ID.fullmatch(parent) else None,
        fields.get("Sampled"),
    )


def make_tracer(environ: Mapping[str, str] | None = None) -> Tracer:
    """The tracer for this process: Lambda's segment in Lambda, the local daemon if configured, else a null one."""
    env = os.environ if environ is None else environ
    address = env.get(DAEMON_ADDRESS, "").strip()
    if env.get(SDK_ENABLED, "true").strip().lower() == "false" or not address:
        return NullTracer()
    try:
        from worker.xray import XRayTracer  # noqa: PLC0415  # the SDK only when tracing is on (see above)

        return XRayTracer(address, lambda_mode=bool(env.get(LAMBDA_FUNCTION_NAME)))
    except Exception:
        log.warning("invalid %s=%r: tracing disabled", DAEMON_ADDRESS, address, exc_info=True)
        return NullTracer()
