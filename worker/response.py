"""The seam between producing a response and sending it: status, headers, then an iterator of body chunks.

The worker's HTTP handler returns a :class:`Response`; the Lambda streaming runtime, the buffered handler and
the local server each send one. Once the first chunk is sent, the status cannot change: an exception raised
by ``body`` must make the transport fail the stream (error trailers in Lambda, no final chunk locally).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field


def _empty() -> Iterator[bytes]:
    return iter(())


@dataclass
class Response:
    """An HTTP response whose body is produced lazily, chunk by chunk."""

    status: int
    headers: dict[str, str]
    body: Iterable[bytes] = field(default_factory=_empty)


def close_iterator(iterator: object) -> None:
    """Close ``iterator`` if it can be closed (a generator, a traced body): its resources are released now, not at
    garbage collection. Transports call it when they stop early or never start (WSGI's rule)."""
    close = getattr(iterator, "close", None)
    if callable(close):
        close()
