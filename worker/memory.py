"""Give back to the system what a finished download freed, when the process holds more than half its function's
memory, so a warm environment never drifts towards its limit.

The system allocator (worker/__init__.py) keeps freed memory in its arenas for reuse. A warm Lambda process
serving one download after another held on to it between downloads and crept up: over 21 downloads as the
Lambda zip runs them, 295 → 332 MB. glibc's ``malloc_trim(0)`` returns the free pages of every arena: with it
after each download the same 21 held 95-135 MB between downloads and peaked at 271 MB. But the next download
faults those pages in again (a 1% download of the sorted benchmark file, 0.05-0.06 → 0.07-0.08 s), so memory is only
given back above half the function's size (docs/performance.md "One allocator"). Elsewhere (musl, macOS) there
is nothing to call and nothing is done.
"""

from __future__ import annotations

import ctypes
import functools
import os
from collections.abc import Callable, Mapping

from worker.parallelism import function_memory_mb

MIB = 1024 * 1024


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the process's own C library: glibc's allocator, if it has one
    except (OSError, AttributeError, TypeError):  # TypeError: Windows cannot load "no library"
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def keep_bytes(environ: Mapping[str, str]) -> int:
    """How much resident memory a warm process may keep between downloads: half the function's memory size;
    0 (give everything back) where the size is not known.

    >>> keep_bytes({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"}) // MIB, keep_bytes({})
    (512, 0)
    """
    size = function_memory_mb(environ)
    return size * MIB // 2 if size is not None else 0


def resident_bytes() -> int | None:
    """This process's resident set size, or None where ``/proc`` does not say (not Linux)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def release_freed_memory(keep: int = 0) -> bool:
    """Return the C allocator's free pages to the system if more than ``keep`` bytes are resident; True if some
    were returned (glibc only).
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    resident = resident_bytes()
    if keep and resident is not None and resident <= keep:
        return False
    return bool(trim(0))
