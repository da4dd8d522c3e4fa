"""Run iterators ahead on background threads, so reading the next batches overlaps encoding this one.

Decoding Parquet and pyarrow/polars kernels release the GIL, so on two cores a scan and an encoder prefetched
this way run side by side (docs/performance.md). :func:`prefetched_in_order` chains several iterators (one per
row group), running up to ``window`` of them at once, each on its own thread.
Order, values and exceptions are exactly the sources': an exception a source raises is raised by the consumer
at the same position. Closing the consumer early stops every producer and waits for it, so no source is read
after the consumer has gone (and its file closed).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Generic, TypeVar

from worker.response import close_iterator

T = TypeVar("T")


class _Failed:
    """The source raised: carried through the queue to be raised by the consumer."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


_DONE = object()


def _one(item: object) -> int:
    return 1


class _Producer(Generic[T]):
    """One source drained by its own thread (started at once) into a queue holding at most ``budget`` of the
    items' ``cost`` (always at least one item)."""

    def __init__(self, source: Iterator[T], budget: int, cost: Callable[[T], int]) -> None:
        self.source = source
        self.budget = budget
        self.cost = cost
        self.queued: deque[tuple[object, int]] = deque()
        self.used = 0
        self.stopped = False
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self.run, name="prefetch", daemon=True)
        self.thread.start()

    def run(self) -> None:
        try:
            for item in self.source:
                if not self.put(item, self.cost(item)):
                    return
            self.put(_DONE, 0)
        except BaseException as error:  # handed to the consumer, which re-raises it
            self.put(_Failed(error), 0)
        finally:
            close_iterator(self.source)

    def put(self, item: object, cost: int) -> bool:
        """Queue ``item`` once the budget allows, unless the consumer has gone; False once it has."""
        with self.changed:
            while not self.stopped and self.queued and self.used + cost > self.budget:
                self.changed.wait()
            if self.stopped:
                return False
            self.queued.append((item, cost))
            self.used += cost
            self.changed.notify_all()
            return True

    def items(self) -> Iterator[T]:
        """The source's items in order, then its exception if it raised one."""
        while True:
            with self.changed:
                while not self.queued:
                    self.changed.wait()
                item, cost = self.queued.popleft()
                self.used -= cost
                self.changed.notify_all()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]  # everything else in the queue is a T

    def close(self) -> None:
        """Stop the thread and wait for it (it closes the source)."""
        self.stop()
        self.thread.join()

    def stop(self) -> None:
        with self.changed:
            self.stopped = True
            self.changed.notify_all()


def prefetched_in_order(
    sources: Iterable[Callable[[], Iterator[T]]],
    window: int,
    budget: int = 1,
    cost: Callable[[T], int] = _one,
) -> Generator[T, None, None]:
    """Yield the items of each iterator ``sources`` make, one iterator after the other, with up to ``window`` of
    them running at once, each on its own thread, ahead of the consumer by at most ``budget`` of the items'
    ``cost`` (by default, items). The next iterator is made when one has produced its last item, so at most
    ``window`` sources are open at any time and the end of one does not stall the consumer. A cost in bytes lets
    a source whose items are small (a selective filter's batches) run through while one whose items are big
    waits, so memory stays bounded.

    >>> list(prefetched_in_order([lambda: iter("ab"), lambda: iter("c"), lambda: iter("de")], window=2))
    ['a', 'b', 'c', 'd', 'e']
    """
    makers = iter(sources)
    running: deque[_Producer[T]] = deque()
    window = max(1, window)

    def top_up() -> None:
        # A source whose thread has finished only holds its queued items: start the next one meanwhile, keeping
        # at most `window` threads and `window + 1` queues.
        while len(running) <= window and sum(p.thread.is_alive() for p in running) < window:
            maker = next(makers, None)
            if maker is None:
                return
            running.append(_Producer(maker(), budget, cost))

    try:
        top_up()
        while running:
            for item in running[0].items():
                top_up()
                yield item
            running.popleft().close()
            top_up()
    finally:
        for producer in running:
            producer.stop()
        for producer in running:
            producer.thread.join()
