"""Tests for worker/prefetch.py: same items and errors in the same order; closing early stops the producer."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from worker.prefetch import prefetched


class Broken(RuntimeError):
    """What the source raises midway."""


def test_items_in_order() -> None:
    assert list(prefetched(iter(range(1000)), depth=3)) == list(range(1000))


def test_an_error_is_raised_at_its_position() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise Broken("midway")

    received: list[int] = []
    with pytest.raises(Broken, match="midway"):
        received.extend(prefetched(source()))
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

    items = prefetched(source())
    assert next(items) == 0
    items.close()
    assert closed.is_set()  # the producer was joined: nothing reads the source after close
    assert len(produced) <= 3
    assert not any(t.name == "prefetch" and t.is_alive() for t in threading.enumerate())
