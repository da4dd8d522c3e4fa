"""The response cache: Accept-Encoding normalisation, Cache-Control, LRU by bytes, and complete bodies only."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import cast

import pytest

from dataset_downloads.cache import ResponseCache, max_age, normalise_accept_encoding
from tests.dataset_downloads.local_stack import Clock

CACHEABLE = [("Cache-Control", "public, max-age=60"), ("ETag", '"v1"')]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param(None, "identity", id="absent"),
        pytest.param("gzip", "gzip", id="gzip"),
        pytest.param("br, GZIP", "gzip", id="case"),
        pytest.param("gzip;q=0", "identity", id="refused"),
        pytest.param("gzip;q=0.5, br", "gzip", id="weighted"),
        pytest.param("br, deflate", "identity", id="others"),
        pytest.param("x-gzip", "gzip", id="x-gzip"),
    ],
)
def test_accept_encoding(header: str | None, expected: str) -> None:
    assert normalise_accept_encoding(header) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("public, max-age=300", 300, id="max-age"),
        pytest.param("public, s-maxage=5, max-age=60", 5, id="s-maxage-wins"),
        pytest.param("no-store", None, id="no-store"),
        pytest.param("private, max-age=60", None, id="private"),
        pytest.param("no-cache", None, id="no-cache"),
        pytest.param("public, max-age=0", None, id="zero"),
        pytest.param("public", None, id="no-lifetime"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_max_age(header: str | None, expected: int | None) -> None:
    assert max_age(header) == expected


def test_expiry_and_lru_by_bytes() -> None:
    clock = Clock()
    cache = ResponseCache(max_bytes=3000, max_entry_bytes=1500, clock=clock)
    for key in ("a", "b"):
        assert cache.put(key, 200, CACHEABLE, b"x" * 1000)
    assert cache.get("a") is not None  # a is now the most recently used
    assert cache.put("c", 200, CACHEABLE, b"x" * 1000)
    assert (cache.get("b"), len(cache)) == (None, 2)
    assert cache.size <= 3000
    assert not cache.put("huge", 200, CACHEABLE, b"x" * 2000)
    clock.now += 60
    assert cache.get("a") is None


@pytest.mark.parametrize("status", [pytest.param(206, id="partial"), pytest.param(304, id="not-modified")])
def test_one_clients_answers_are_not_stored(status: int) -> None:
    assert not ResponseCache().put("k", status, CACHEABLE, b"")


def _failing() -> Iterator[bytes]:
    yield b"part"
    raise OSError("mid-stream")


def test_collect_stores_only_complete_bodies() -> None:
    cache = ResponseCache()
    assert b"".join(cache.collect("ok", 200, CACHEABLE, iter([b"a", b"b"]))) == b"ab"
    entry = cache.get("ok")
    assert entry is not None
    assert entry.body == b"ab"
    with pytest.raises(OSError, match="mid-stream"):
        list(cache.collect("bad", 200, CACHEABLE, _failing()))
    assert cache.get("bad") is None
    closed = cast(Generator[bytes, None, None], cache.collect("early", 200, CACHEABLE, iter([b"a", b"b"])))
    next(closed)
    closed.close()  # the client went away: nothing stored
    assert cache.get("early") is None
