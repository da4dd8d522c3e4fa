"""The one place the edge sets or removes a header, refusing those CloudFront rejects with a 502.

CloudFront's rules ("Restrictions on all edge functions", HTTP headers): some headers are disallowed (never
exposed to the function, never added by it), others are read-only per event type. Headers here use CloudFront's
shape, ``{lowercase-name: [{"key": "Canonical-Name", "value": "..."}]}``.
"""

from __future__ import annotations

import re
from typing import Final

Headers = dict[str, list[dict[str, str]]]

VIEWER_REQUEST: Final = "viewer-request"
ORIGIN_REQUEST: Final = "origin-request"

# Disallowed in every event (AWS list), plus the remaining hop-by-hop headers of RFC 9110 §7.6.1.
DISALLOWED: Final = frozenset(
    {
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "x-accel-buffering",
        "x-accel-charset",
        "x-accel-limit-rate",
        "x-accel-redirect",
        "x-cache",
        "x-forwarded-proto",
        "x-real-ip",
    }
)
DISALLOWED_PREFIXES: Final = ("x-amz-cf-", "x-amzn-", "x-edge-")
# Read-only per request event type. Host is read-only in viewer-request only: origin-request may change it.
READ_ONLY: Final = {
    VIEWER_REQUEST: frozenset({"content-length", "host", "transfer-encoding", "via"}),
    ORIGIN_REQUEST: frozenset(
        {
            "accept-encoding",
            "content-length",
            "if-modified-since",
            "if-none-match",
            "if-range",
            "if-unmodified-since",
            "transfer-encoding",
            "via",
        }
    ),
}
# Header names that belong to us: whatever a viewer sends under them is dropped, never forwarded as ours.
OWN_PREFIX: Final = "x-download-"
# The SigV4 headers on a request to a worker belong to CloudFront's origin access control or to the edge
# (edge.signing); none is disallowed or read-only (only X-Amz-Cf-* and X-Amzn-* are). A viewer's are dropped: no
# policy forwards them, and with the worker OAC's SigningBehavior no-override a viewer Authorization must never be
# what stops CloudFront from signing.
SIGNATURE_HEADER_NAMES: Final = ("Authorization", "X-Amz-Content-SHA256", "X-Amz-Date", "X-Amz-Security-Token")
SIGNATURE_HEADERS: Final = frozenset(name.lower() for name in SIGNATURE_HEADER_NAMES)

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_VALUE = re.compile(r"[\t\x20-\x7e]*")


class ForbiddenHeader(ValueError):
    """The edge tried to set a header CloudFront would reject (a bug in the edge, not in the request)."""


def is_disallowed(name: str) -> bool:
    """True for a header no edge function may add.

    >>> is_disallowed("X-Amz-Cf-Id"), is_disallowed("x-download-trace")
    (True, False)
    """
    lowered = name.lower()
    return lowered in DISALLOWED or lowered.startswith(DISALLOWED_PREFIXES)


def _check(name: str, event_type: str | None) -> str:
    lowered = name.lower()
    if not _TOKEN.fullmatch(name) or is_disallowed(lowered):
        raise ForbiddenHeader(f"the edge may not set header {name!r}")
    if event_type is not None and lowered in READ_ONLY.get(event_type, ()):
        raise ForbiddenHeader(f"header {name!r} is read-only in {event_type} events")
    return lowered


def set_header(headers: Headers, name: str, value: str, event_type: str | None = None) -> None:
    """Set ``name`` to the single ``value`` (``name`` in canonical case, e.g. ``Cache-Control``).

    ``event_type`` is the request event being modified (read-only headers are checked), or None for a
    generated response. Raises :class:`ForbiddenHeader` for a disallowed or read-only header or a value with
    control or non-ASCII characters.

    >>> h: Headers = {}; set_header(h, "X-Download-Cache-Key", "/t.csv"); h
    {'x-download-cache-key': [{'key': 'X-Download-Cache-Key', 'value': '/t.csv'}]}
    """
    lowered = _check(name, event_type)
    if not _VALUE.fullmatch(value):
        raise ForbiddenHeader(f"header {name!r} has a value with control or non-ASCII characters")
    headers[lowered] = [{"key": name, "value": value}]


def drop_own_headers(headers: Headers, event_type: str) -> None:
    """Remove every ``x-download-*`` and SigV4 header the viewer sent: only the edge (or OAC) may set them."""
    for lowered in [name for name in headers if name.lower().startswith(OWN_PREFIX) or name in SIGNATURE_HEADERS]:
        _check(lowered, event_type)
        del headers[lowered]


def build_headers(pairs: tuple[tuple[str, str], ...]) -> Headers:
    """Headers for a generated response from ``(Canonical-Name, value)`` pairs."""
    headers: Headers = {}
    for name, value in pairs:
        set_header(headers, name, value)
    return headers
