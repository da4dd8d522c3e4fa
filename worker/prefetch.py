"""Run an iterator one step ahead on a background thread, so reading the next batch overlaps encoding this one.

Decoding Parquet and pyarrow/polars kernels release the GIL, so on two cores a scan and an encoder prefetched
this way run side by side (docs/performance.md). Order, values and exceptions are exactly the source's: an
exception the source raises is raised by the consumer at the same position. Closing the consumer early stops
the producer and waits for it, so the source is never read after the consumer has gone (and its file closed).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import Generic, TypeVar

from worker.response import close_iterator

T = TypeVar("T")
_POLL_S = 0.05


class _Failed:
    """The source raised: carried through the queue to be raised by the consumer."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


_DONE = object()


class _Producer(Generic[T]):
    def __init__(self, source: Iterator[T], depth: int) -> None:
        self.source = source
        self.queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="prefetch", daemon=True)

    def run(self) -> None:
        try:
            for item in self.source:
                if not self.put(item):
                    return
            self.put(_DONE)
        except BaseException as error:  # handed to the consumer, which re-raises it
            self.put(_Failed(error))
        finally:
            close_iterator(self.source)

    def put(self, item: object) -> bool:
        """Queue ``item`` unless the consumer has gone; False once it has."""
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=_POLL_S)
            except queue.Full:
                continue
            return True
        return False


def prefetched(source: Iterator[T], depth: int = 1) -> Generator[T, None, None]:
    """Yield ``source``'s items in order, computing up to ``depth`` of them ahead on a background thread.

    >>> list(prefetched(iter([1, 2, 3])))
    [1, 2, 3]
    """
    producer = _Producer(source, depth)
    producer.thread.start()
    try:
        while True:
            item = producer.queue.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]  # everything else in the queue is a T
    finally:
        producer.stop.set()
        producer.thread.join()
