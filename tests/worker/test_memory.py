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
