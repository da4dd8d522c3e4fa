"""Body iterators of the worker's responses: pull the first chunk early, annotate the scan when a body ends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from worker.response import close_iterator
from worker.scan import ScanPlan
from worker.tracing import RequestTrace


class Closeable(Protocol):
    """Anything with ``close()``: the open source file a stream must release."""

    def close(self) -> None: ...


def annotated(chunks: Iterator[bytes], trace: RequestTrace, plan: ScanPlan, readable: object) -> Iterator[bytes]:
    """Pass ``chunks`` through, then annotate what the scan did (known only at the end of the stream)."""
    try:
        yield from chunks
    finally:
        trace.annotate("rows", plan.stats.rows_out)
        trace.annotate("row_groups_read", plan.stats.row_groups_read)
        trace.annotate("decoder", plan.stats.decoder)
        trace.annotate("decoder_threads", plan.stats.decoder_threads)
        trace.annotate("bytes_read", int(getattr(readable, "bytes_read", 0)))


def started(chunks: Iterator[bytes], resource: Closeable) -> Iterator[bytes]:
    """Pull the first chunk now, so errors raised before any byte exists still become a problem response;
    the returned generator closes ``chunks`` and ``resource`` however it ends (done, failed, or closed early).
    """
    try:
        first = next(chunks, None)
    except BaseException:
        resource.close()
        raise

    def rest() -> Iterator[bytes]:
        try:
            if first is not None:
                yield first
                yield from chunks
        finally:
            close_iterator(chunks)
            resource.close()

    return rest()
