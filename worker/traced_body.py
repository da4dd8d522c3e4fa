"""Tracing for lazily produced response bodies: the request trace stays open until the body is done.

The handler returns before a single chunk is sent, so it cannot close the request's trace. :func:`traced_body`
takes the trace over: the ``stream`` subsegment runs from the first chunk asked for to the end of the stream,
and the request ends when the stream completes, raises, or is closed early (a client that went away). Only
:mod:`worker.tracing` types are used here, so a new tracing backend needs no change in this module.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from worker.response import close_iterator
from worker.tracing import RequestTrace, Span

T = TypeVar("T")


class StreamAborted(Exception):
    """The body was closed before its end: the client or the transport stopped reading."""

    code = "stream-aborted"


class TracedBody:
    """An iterator of body chunks that records ``stream``, ``bytes_out`` and the request's end.

    Transports must call :meth:`close` when they stop iterating early (WSGI's rule), including when they never
    started: a body that is never read still ends its trace there.
    """

    def __init__(self, trace: RequestTrace, chunks: Iterable[bytes], name: str = "stream") -> None:
        trace.hand_off()
        self._trace = trace
        self._chunks = iter(chunks)
        self._name = name
        self._span: Span | None = None
        self._bytes = 0
        self._done = False

    def __iter__(self) -> TracedBody:
        return self

    def __next__(self) -> bytes:
        if self._done:
            raise StopIteration
        if self._span is None:
            self._span = self._trace.start_subsegment(self._name)
        try:
            chunk = next(self._chunks)
        except StopIteration:
            self._finish(None)
            raise
        except BaseException as error:
            self._finish(error)
            raise
        self._trace.mark_first_byte()
        self._bytes += len(chunk)
        return chunk

    def close(self) -> None:
        """Stop early: close the producer and end the request as aborted (no-op once the stream has ended)."""
        if self._done:
            return
        error: BaseException = StreamAborted("the body was closed before its end")
        try:
            close_iterator(self._chunks)
        except Exception as failure:  # the producer failed while being closed: that is the error to record
            error = failure
        self._finish(error)

    def _finish(self, error: BaseException | None) -> None:
        self._done = True
        if self._span is not None:
            self._span.end(error)
        self._trace.annotate("bytes_out", self._bytes)
        self._trace.end(error)


def traced_body(trace: RequestTrace, chunks: Iterable[bytes]) -> TracedBody:
    """Wrap a response body so the request's trace ends with the stream (see :class:`TracedBody`)."""
    return TracedBody(trace, chunks)


def traced_iter(trace: RequestTrace, name: str, items: Iterable[T]) -> Iterator[T]:
    """Yield ``items`` inside a ``name`` subsegment that spans the first to the last item.

    Lazy stages interleave (the encoder pulls batches from the scan), so each subsegment spans the whole
    stage and carries ``{name}_busy_ms``, the time spent inside the stage's own ``next`` (a consumer's includes
    the producers it pulls from), and ``{name}_items``. Closing early (a ``limit`` reached) is not an error.
    """
    iterator = iter(items)
    span: Span | None = None
    busy = 0.0
    count = 0
    error: BaseException | None = None
    try:
        while True:
            started = time.perf_counter()
            if span is None:
                span = trace.start_subsegment(name)
            try:
                item = next(iterator)
            except StopIteration:
                return
            finally:
                busy += time.perf_counter() - started
            count += 1
            yield item
    except GeneratorExit:
        raise
    except BaseException as failure:
        error = failure
        raise
    finally:
        close_iterator(iterator)
        if span is not None:
            # Keys carry the stage's name: annotations are indexed per trace, so they must not collide.
            span.annotate(f"{name}_busy_ms", round(busy * 1000, 3))
            span.annotate(f"{name}_items", count)
            span.end(error)
