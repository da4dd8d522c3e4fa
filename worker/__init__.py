"""The worker: reads a dataset's Parquet, filters it and streams it in the requested format.

Arrow's C++ code allocates from the pool named by ``ARROW_DEFAULT_MEMORY_POOL``, read once when pyarrow loads,
so the worker names it here, before any of its modules imports pyarrow: the system allocator, available on every
platform (the arm64 wheels the Lambda zip installs have no jemalloc). One row group at a time it peaks 74-115 MB
below mimalloc, pyarrow's default and what the arm64 Lambda used before, and runs 7-27 % faster than the jemalloc
(Python) + mimalloc (C++) mix measured on x86 before (docs/performance.md "One allocator"). A value already in
the environment wins; a process that loaded pyarrow before this keeps pyarrow's default.

The system allocator itself (glibc's) is configured here too, before any thread starts: one heap for every
thread, big blocks from it rather than from fresh mappings (worker/memory.py), which the warm-up then faults in.
"""

from __future__ import annotations

import os

from worker.memory import configure_allocator

if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
    os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "system"
configure_allocator()
