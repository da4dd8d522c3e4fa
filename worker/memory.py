"""The C allocator's settings: one heap kept warm for downloads, and given back above half the function's memory.

**One heap, faulted in at init.** Every page a process touches for the first time costs a page fault (the kernel
zeroes it): a fresh process's first download of 1% of the sorted benchmark file took 20,000 of them, 72,000 for
10%, a third of their time. glibc gives each thread its own arena and serves big blocks from fresh ``mmap``
calls, so the decoding and rendering threads kept faulting in new pages. :func:`configure_allocator` (called
when the ``worker`` package loads, before any thread) makes every thread share one heap and keeps blocks up to
32 MiB in it; :func:`reserve` (the warm-up's last step) touches the pages a download is about to use and leaves
them free in that heap. A fresh process's first 1% download then takes ~30 page faults instead of 15,000-20,000
and 0.06-0.08 s instead of 0.09-0.11 s; downloads that use more than the reserve peak no higher, often lower
(docs/performance.md "One heap, faulted in at init").

**Given back above half.** The system allocator (worker/__init__.py) keeps freed memory in its heap for reuse. A
warm Lambda process serving one download after another held on to it between downloads and crept up: over 21
downloads as the Lambda zip runs them, 295 → 332 MB. glibc's ``malloc_trim(0)`` returns the free pages of every
arena: with it after each download the same 21 held 95-135 MB between downloads and peaked at 271 MB. But the next
download faults those pages in again (a 1% download of the sorted benchmark file, 0.05-0.06 → 0.07-0.08 s), so
memory is only given back above half the function's size (docs/performance.md "One allocator"). Elsewhere (musl,
macOS) there is nothing to call and nothing is done.
"""

from __future__ import annotations

import ctypes
import functools
import os
from collections.abc import Callable, Mapping
from typing import Any, cast

from worker.parallelism import function_memory_mb

MIB = 1024 * 1024
# glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8
# Blocks up to this come from the heap, not from mmap: glibc's own upper bound, which its dynamic threshold (off
# once set) grew to anyway after the first big block was freed. The heap keeps up to KEEP_FREE_BYTES of free
# memory at its top (what the dynamic thresholds kept: twice the mmap threshold), more after :func:`reserve`.
MMAP_THRESHOLD_BYTES = 32 * MIB
KEEP_FREE_BYTES = 2 * MMAP_THRESHOLD_BYTES
RESERVE_PIECE_BYTES = 16 * MIB  # under the mmap threshold: every piece comes from the heap


def _glibc(name: str, argtypes: list[Any], restype: Any = ctypes.c_int) -> Callable[..., Any] | None:
    try:
        # The process's own C library: glibc's allocator, if it has one.
        function: Any = getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError, TypeError):  # TypeError: Windows cannot load "no library"
        return None
    function.argtypes = argtypes
    function.restype = restype
    return cast(Callable[..., Any], function)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    return _glibc("malloc_trim", [ctypes.c_size_t])


@functools.cache
def _mallopt() -> Callable[[int, int], int] | None:
    return _glibc("mallopt", [ctypes.c_int, ctypes.c_int])


def configure_allocator() -> bool:
    """One arena for every thread, blocks up to :data:`MMAP_THRESHOLD_BYTES` from it, :data:`KEEP_FREE_BYTES` kept
    free; True if glibc took them. Call before threads start allocating (an arena, once a thread has it, stays).
    """
    mallopt = _mallopt()
    if mallopt is None:
        return False
    settings = ((M_ARENA_MAX, 1), (M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES), (M_TRIM_THRESHOLD, KEEP_FREE_BYTES))
    taken = [mallopt(parameter, value) == 1 for parameter, value in settings]  # every one, even after a refusal
    return all(taken)


RESERVE_VARIABLE = "MEMORY_RESERVE_MB"
# What the warm-up leaves faulted in, by row groups decoded at once (worker/parallelism.py): about what a download
# of the benchmark file takes above the warm process one at a time (the Lambda zip's sorted full CSV peaked 110-140
# MB above it), and a 10% download two at once.
RESERVE_MB = {1: 128, 2: 192}


def reserve_bytes(environ: Mapping[str, str], at_once: int) -> int:
    """How much the warm-up faults in: ``MEMORY_RESERVE_MB`` if set (0 for nothing), else :data:`RESERVE_MB` of
    the profile; ValueError for anything but a whole number.

    >>> reserve_bytes({}, 1) // MIB, reserve_bytes({}, 2) // MIB, reserve_bytes({"MEMORY_RESERVE_MB": "0"}, 2)
    (128, 192, 0)
    """
    value = environ.get(RESERVE_VARIABLE, "").strip()
    if not value:
        return RESERVE_MB[min(at_once, max(RESERVE_MB))] * MIB
    if not value.isdigit():
        raise ValueError(f"{RESERVE_VARIABLE} must be a whole number of MB (0 for none), not {value!r}")
    return int(value) * MIB


def reserve(nbytes: int) -> int:
    """Touch ``nbytes`` of heap (in pieces under the mmap threshold) and free them, kept by the allocator for the
    next download, which then finds them faulted in; the heap keeps that much free (and :data:`KEEP_FREE_BYTES`)
    from now on. Returns the bytes touched: 0 without glibc.
    """
    mallopt = _mallopt()
    malloc = _glibc("malloc", [ctypes.c_size_t], ctypes.c_void_p)
    free = _glibc("free", [ctypes.c_void_p], None)
    if mallopt is None or malloc is None or free is None or nbytes <= 0:
        return 0
    mallopt(M_TRIM_THRESHOLD, nbytes + KEEP_FREE_BYTES)  # more than the reserve: freeing it must not trim it
    pieces = [malloc(RESERVE_PIECE_BYTES) for _ in range(-(-nbytes // RESERVE_PIECE_BYTES))]
    touched = 0
    for piece in pieces:
        if piece:
            ctypes.memset(piece, 0, RESERVE_PIECE_BYTES)
            touched += RESERVE_PIECE_BYTES
    for piece in pieces:
        free(piece)  # free(NULL) does nothing
    return touched


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
