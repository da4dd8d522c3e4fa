"""Give back to the system what a finished download freed, so a warm process starts each one from a low base.

The system allocator (worker/__init__.py) keeps freed memory in its arenas for reuse. A warm Lambda process
serving one download after another then held on to it between downloads and crept up: over 21 downloads as the
Lambda zip runs them, 295 → 332 MB. glibc's ``malloc_trim(0)`` returns the free pages of every arena: with it
after each download the same 21 held 95-135 MB between downloads and peaked at 271 MB, no slower
(docs/performance.md "One allocator"). Elsewhere (musl, macOS) there is nothing to call and nothing is done.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the process's own C library: glibc's allocator, if it has one
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_freed_memory() -> bool:
    """Return the C allocator's free pages to the system; True if some were returned (glibc only)."""
    trim = _malloc_trim()
    return trim is not None and bool(trim(0))
