"""Tests for worker/prefetch.py: same items and errors in the same order; closing early stops the producers;
several sources run at once within their budget."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator

import pytest

from worker.prefetch import prefetched_in_order


class Broken(RuntimeError):
    """What the source raises midway."""


def test_items_in_order() -> None:
    assert list(prefetched_in_order([lambda: iter(range(1000))], window=1, budget=3)) == list(range(1000))


def test_an_error_is_raised_at_its_position() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise Broken("midway")

    received: list[int] = []
    with pytest.raises(Broken, match="midway"):
        received.extend(prefetched_in_order([source], window=1))
    assert received == [1, 2]


def test_closing_early_stops_and_closes_the_source() -> None:
    closed = threading.Event()
    produced: list[int] = []

    def source() -> Iterator[int]:
        try:
            for i in range(1_000_000):
                produced.append(i)
                yield i
        finally:
            closed.set()

    items = prefetched_in_order([source], window=1)
    assert next(items) == 0
    items.close()
    assert closed.is_set()  # the producer was joined: nothing reads the source after close
    assert len(produced) <= 3
    assert not any(t.name == "prefetch" and t.is_alive() for t in threading.enumerate())


# --- several sources in order, some at once ---------------------------------------------------------------------


def test_in_order_chains_the_sources_items() -> None:
    sources = [lambda i=i: iter(range(i * 100, i * 100 + 50)) for i in range(5)]
    expected = [n for i in range(5) for n in range(i * 100, i * 100 + 50)]
    assert list(prefetched_in_order(sources, window=2, budget=3)) == expected


def test_in_order_raises_a_sources_error_at_its_position() -> None:
    def broken() -> Iterator[int]:
        yield 10
        raise Broken("second source")

    received: list[int] = []
    with pytest.raises(Broken, match="second source"):
        received.extend(prefetched_in_order([lambda: iter([1, 2]), broken, lambda: iter([99])], window=2))
    assert received == [1, 2, 10]


def test_in_order_keeps_at_most_window_sources_open() -> None:
    lock = threading.Lock()
    open_now: list[int] = []
    most = 0

    def source(i: int) -> Iterator[int]:
        nonlocal most
        with lock:
            open_now.append(i)
            most = max(most, len(open_now))
        try:
            yield from range(20)
        finally:
            with lock:
                open_now.remove(i)

    items = list(prefetched_in_order([functools.partial(source, i) for i in range(8)], window=2))
    assert len(items) == 8 * 20
    assert most == 2
    assert open_now == []


def test_in_order_runs_the_next_source_ahead_within_its_budget() -> None:
    """While the consumer holds the first source's first item, the second source runs through its small items
    (cost 1 each, budget 10) but a source of big items (cost 6) stops after one: memory is bounded by cost."""
    second_done = threading.Event()
    big_produced: list[int] = []

    def small() -> Iterator[int]:
        yield from range(5)
        second_done.set()

    def big() -> Iterator[int]:
        for i in range(10):
            big_produced.append(i)
            yield 100 + i

    items = prefetched_in_order(
        [lambda: iter([0]), small], window=2, budget=10, cost=lambda item: 6 if item >= 100 else 1
    )
    assert next(items) == 0
    assert second_done.wait(5)  # the second source finished before the first was consumed
    items.close()

    items = prefetched_in_order([lambda: iter([0]), big], window=2, budget=10, cost=lambda n: 6 if n >= 100 else 1)
    assert next(items) == 0
    time.sleep(0.2)
    assert len(big_produced) <= 2  # one queued (over budget after it) and one waiting to be queued
    items.close()


def test_in_order_closing_early_stops_every_running_source() -> None:
    closed: list[int] = []

    def endless(i: int) -> Iterator[int]:
        try:
            while True:
                yield i
        finally:
            closed.append(i)

    items = prefetched_in_order([functools.partial(endless, i) for i in range(4)], window=2)
    assert next(items) == 0
    items.close()
    assert sorted(closed) == [0, 1]  # both running sources closed; the others never made
    assert not any(t.name == "prefetch" and t.is_alive() for t in threading.enumerate())
