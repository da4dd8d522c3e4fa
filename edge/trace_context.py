"""Our own trace context header, ``x-download-trace``: what the edge did, for the worker to draw in X-Ray.

Lambda@Edge has no X-Ray support and may not add ``X-Amzn-*`` headers, so the router stamps each request it
forwards with this header and the worker turns it into an ``edge`` subsegment. The format is a ``;``-separated
list of ``key=value`` pairs, version first::

    v=1;id=<cf request id>;region=eu-west-2;start=1718000000.123456;dur=0.000042;decision=worker:eu-west-2

``start`` is the edge's start time in epoch seconds, ``dur`` the duration of the edge's own work in seconds.
Standard library only: the worker imports this module too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TRACE_HEADER = "x-download-trace"
VERSION = "1"
MAX_LENGTH = 512

_REQUEST_ID = re.compile(r"[A-Za-z0-9_=+/.-]{1,128}")
_REGION = re.compile(r"[a-z0-9-]{1,32}")
_DECISION = re.compile(r"[a-z0-9:._-]{1,64}")
_NUMBER = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?")


@dataclass(frozen=True)
class TraceContext:
    """One edge invocation: CloudFront's request id, the edge's region, start (epoch s), duration (s), decision."""

    request_id: str
    region: str
    start: float
    duration: float
    decision: str

    @property
    def end(self) -> float:
        """When the edge's own work ended (epoch seconds)."""
        return self.start + self.duration


def format_trace_context(context: TraceContext) -> str:
    """The header value for ``context``; fields that would not parse back are replaced by ``-``/``unknown``.

    >>> format_trace_context(TraceContext("abc==", "eu-west-2", 1718000000.5, 0.000042, "worker:eu-west-2"))
    'v=1;id=abc==;region=eu-west-2;start=1718000000.500000;dur=0.000042;decision=worker:eu-west-2'
    """
    request_id = context.request_id if _REQUEST_ID.fullmatch(context.request_id) else "-"
    region = context.region if _REGION.fullmatch(context.region) else "unknown"
    decision = context.decision if _DECISION.fullmatch(context.decision) else "unknown"
    return (
        f"v={VERSION};id={request_id};region={region};start={max(context.start, 0.0):.6f};"
        f"dur={max(context.duration, 0.0):.6f};decision={decision}"
    )


def parse_trace_context(value: str | None) -> TraceContext | None:
    """Read a header value back; anything malformed (garbage, a forged or truncated header) gives None.

    >>> parse_trace_context("v=1;id=abc;region=us-east-1;start=1.5;dur=0.25;decision=redirect").end
    1.75
    >>> parse_trace_context("v=1;id=abc") is None
    True
    """
    if not isinstance(value, str) or len(value) > MAX_LENGTH:
        return None
    fields: dict[str, str] = {}
    for part in value.split(";"):
        key, sep, item = part.strip().partition("=")
        if not sep or key in fields:
            return None
        fields[key] = item
    if fields.get("v") != VERSION or set(fields) != {"v", "id", "region", "start", "dur", "decision"}:
        return None
    checks = ((_REQUEST_ID, "id"), (_REGION, "region"), (_DECISION, "decision"), (_NUMBER, "start"), (_NUMBER, "dur"))
    if not all(pattern.fullmatch(fields[key]) for pattern, key in checks):
        return None
    start, duration = float(fields["start"]), float(fields["dur"])
    return TraceContext(fields["id"], fields["region"], start, duration, fields["decision"])
