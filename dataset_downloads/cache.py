"""A small in-memory response cache standing in for CloudFront's: LRU, bounded in bytes, per ``Cache-Control``.

Keyed like the distribution's cache policy: the canonical ``uri?querystring`` (after the viewer-request
rewrite) plus the normalised ``Accept-Encoding``. Only complete responses are stored, so a download that
failed midway is never replayed as a success.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from worker.response import close_iterator

_MAX_AGE = re.compile(r"(?:^|,)\s*(s-maxage|max-age)\s*=\s*\"?(\d+)\"?", re.IGNORECASE)
_NO_STORE = re.compile(r"(?:^|,)\s*(no-store|no-cache|private)\b", re.IGNORECASE)
# Statuses a shared cache may store (RFC 9111 "heuristically cacheable" plus the redirects and errors
# CloudFront caches); 206 and 304 are answers to one client's conditional or range request.
CACHEABLE_STATUSES = frozenset({200, 203, 204, 300, 301, 302, 307, 308, 400, 403, 404, 405, 410, 414, 416, 501})


def normalise_accept_encoding(value: str | None) -> str:
    """``gzip`` when the viewer accepts gzip, else ``identity`` (CloudFront's normalisation, gzip only).

    >>> normalise_accept_encoding("br;q=1, GZIP;q=0.5"), normalise_accept_encoding("gzip;q=0")
    ('gzip', 'identity')
    """
    for item in (value or "").split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() in ("gzip", "x-gzip"):
            q = params.strip().lower().removeprefix("q=")
            if not params.strip() or _positive(q):
                return "gzip"
    return "identity"


def _positive(q: str) -> bool:
    try:
        return float(q) > 0
    except ValueError:
        return False


def max_age(cache_control: str | None) -> int | None:
    """Seconds a shared cache may keep a response, or ``None`` when it must not store it.

    >>> max_age("public, max-age=300"), max_age("no-store"), max_age("public, s-maxage=5, max-age=60")
    (300, None, 5)
    """
    if not cache_control or _NO_STORE.search(cache_control):
        return None
    ages = {name.lower(): int(value) for name, value in _MAX_AGE.findall(cache_control)}
    age = ages.get("s-maxage", ages.get("max-age"))
    return age if age else None


@dataclass(frozen=True)
class Entry:
    """One stored response: status, headers, the whole body, and when it stops being fresh."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    stored_at: float
    expires_at: float

    @property
    def size(self) -> int:
        """Bytes this entry costs against the cache's budget (body plus a rough header cost)."""
        return len(self.body) + sum(len(n) + len(v) for n, v in self.headers) + 64


class ResponseCache:
    """A thread-safe LRU of complete responses, bounded by total bytes and by bytes per entry."""

    def __init__(
        self, max_bytes: int = 64 << 20, max_entry_bytes: int = 8 << 20, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_bytes = max_bytes
        self.max_entry_bytes = min(max_entry_bytes, max_bytes)
        self._clock = clock
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> Entry | None:
        """The fresh entry for ``key`` (marking it recently used), or ``None``; stale entries are dropped."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.expires_at <= self._clock():
                self._remove(key)
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: str, status: int, headers: Sequence[tuple[str, str]], body: bytes) -> bool:
        """Store a complete response if its status and ``Cache-Control`` allow and it fits; True if stored."""
        age = max_age(_header(headers, "cache-control"))
        if age is None or status not in CACHEABLE_STATUSES:
            return False
        now = self._clock()
        entry = Entry(status, tuple(headers), body, now, now + age)
        if entry.size > self.max_entry_bytes:
            return False
        with self._lock:
            if key in self._entries:
                self._remove(key)
            self._entries[key] = entry
            self._bytes += entry.size
            while self._bytes > self.max_bytes:
                self._remove(next(iter(self._entries)))
        return True

    def age(self, entry: Entry) -> int:
        """Whole seconds since ``entry`` was stored (the ``Age`` header)."""
        return int(self._clock() - entry.stored_at)

    def collect(
        self, key: str, status: int, headers: Sequence[tuple[str, str]], body: Iterable[bytes]
    ) -> Iterator[bytes]:
        """Pass ``body`` through, storing the response once the body ends normally (never after an error).

        Gives up buffering as soon as the body outgrows an entry, so a large download costs no memory here.
        Closing the result closes ``body`` too, even before the first chunk: a client that went away must
        release the worker's stream (its source reader, its trace and log line) at once, not at garbage
        collection.
        """
        storing = max_age(_header(headers, "cache-control")) is not None and status in CACHEABLE_STATUSES
        return _Collected(self, key, status=status, headers=headers, body=iter(body), storing=storing)

    @property
    def size(self) -> int:
        """Bytes currently held."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def _remove(self, key: str) -> None:
        self._bytes -= self._entries.pop(key).size


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name), None)


class _Collected:
    """The iterator :meth:`ResponseCache.collect` returns: passes chunks through, stores a complete body."""

    def __init__(
        self,
        cache: ResponseCache,
        key: str,
        *,
        status: int,
        headers: Sequence[tuple[str, str]],
        body: Iterator[bytes],
        storing: bool,
    ) -> None:
        self._cache, self._key, self._status, self._headers = cache, key, status, headers
        self._body = body
        self._parts: list[bytes] | None = [] if storing else None
        self._size = 0

    def __iter__(self) -> _Collected:
        return self

    def __next__(self) -> bytes:
        try:
            chunk = next(self._body)
        except StopIteration:
            if self._parts is not None:
                self._cache.put(self._key, self._status, self._headers, b"".join(self._parts))
                self._parts = None
            raise
        if self._parts is not None:
            self._size += len(chunk)
            if self._size <= self._cache.max_entry_bytes:
                self._parts.append(chunk)
            else:
                self._parts = None
        return chunk

    def close(self) -> None:
        """Stop early: nothing is stored, and the wrapped body is closed."""
        self._parts = None
        close_iterator(self._body)
