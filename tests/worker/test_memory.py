"""Memory a finished download freed goes back to the system (worker/memory.py; the runtime loop calls it after
every invocation: tests/worker/runtime/test_loop.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from worker import memory

ROOT = Path(__file__).resolve().parents[2]

# Arrow memory freed on another thread with every tenth buffer kept, as a download's batches leave it: the free
# pages between the kept buffers stay with the allocator until they are released.
_FRAGMENTED = """
import threading
from worker.memory import release_freed_memory
import pyarrow as pa

def rss():
    return next(int(line.split()[1]) // 1024 for line in open("/proc/self/status") if line.startswith("VmRSS"))

kept = []
def work():
    buffers = [pa.allocate_buffer(64 * 1024) for _ in range(2000)]
    for buffer in buffers:
        memoryview(buffer).cast("B")[:] = b"x" * (64 * 1024)
    kept.extend(buffers[::10])

thread = threading.Thread(target=work)
thread.start()
thread.join()
before = rss()
kept_below_limit = release_freed_memory(keep=64 * 1024**3)  # far more than is resident: nothing to give back
unchanged = rss()
released = release_freed_memory()
print(pa.default_memory_pool().backend_name, before, unchanged, rss(), kept_below_limit, released)
"""


@pytest.mark.skipif(memory._malloc_trim() is None or not Path("/proc/self/status").exists(), reason="glibc only")
def test_releasing_returns_what_arrow_freed_to_the_system() -> None:
    env = {name: value for name, value in os.environ.items() if name != "ARROW_DEFAULT_MEMORY_POOL"}
    done = subprocess.run(
        [sys.executable, "-c", _FRAGMENTED], cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=60
    )
    pool, before, unchanged, after, kept_below_limit, released = done.stdout.split()
    assert pool == "system"
    # 125 MB written, 12.5 MB of it still held: without the release the process keeps ~110 MB it does not use.
    assert (kept_below_limit, released) == ("False", "True"), done.stdout
    assert abs(int(unchanged) - int(before)) < 10, done.stdout
    assert int(before) - int(after) > 80, done.stdout


# After the warm-up's reserve (worker/memory.py), a download's next 48 MiB of buffers, allocated on another thread
# as the decoding threads do, find their pages already faulted in.
_RESERVED = """
import ctypes, resource, sys, threading
from worker import memory  # the package configures the allocator when it loads

def rss():
    return next(int(line.split()[1]) // 1024 for line in open("/proc/self/status") if line.startswith("VmRSS"))

libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
before = rss()
touched = memory.reserve(int(sys.argv[1]) * memory.MIB)
reserved = rss()
faults = []
def work():
    start = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    pieces = [libc.malloc(1024 * 1024) for _ in range(48)]
    for piece in pieces:
        ctypes.memset(piece, 1, 1024 * 1024)
    faults.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - start)
    for piece in pieces:
        libc.free(piece)
thread = threading.Thread(target=work)
thread.start()
thread.join()
print(memory.configure_allocator(), touched // memory.MIB, reserved - before, faults[0])
"""


def reserved(megabytes: int) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _RESERVED, str(megabytes)], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout.split()


@pytest.mark.skipif(memory._mallopt() is None or not Path("/proc/self/status").exists(), reason="glibc only")
def test_the_reserve_stays_resident_and_spares_the_next_buffers_their_page_faults() -> None:
    configured, touched, grew, faults = reserved(64)
    assert (configured, touched) == ("True", "64"), (configured, touched)
    assert int(grew) >= 60, grew  # freed, but kept by the allocator
    assert int(faults) < 1_000, faults  # 12,288 pages written
    _, touched, grew, faults = reserved(0)
    assert (touched, int(grew) < 8) == ("0", True), (touched, grew)
    assert int(faults) > 10_000, faults


def test_reserve_size_must_be_a_whole_number() -> None:
    with pytest.raises(ValueError, match="MEMORY_RESERVE_MB must be a whole number"):
        memory.reserve_bytes({"MEMORY_RESERVE_MB": "lots"}, 1)
    assert memory.reserve_bytes({"MEMORY_RESERVE_MB": " 40 "}, 2) == 40 * memory.MIB
