"""A warm Lambda process's memory: many downloads in one process, as the Lambda zip's runtime loop serves them.

    .venv/bin/python benchmarks/warm.py [--memory-mb 512] [--rounds 3] [--quick]

Runs in a fresh process the Lambda zip's configuration (one row group at a time, no polars, pandas and numpy
unimportable: ``benchmarks/_runners.py``), with ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE`` set, over the engine
benchmark's cached dataset (made first, in this process: its generator needs numpy): ``--rounds`` rounds of nine
downloads (full exports, filtered ones, every format, both layouts, DuckDB's unsorted filters among them), each
followed by what the runtime loop does after an invocation (``worker/memory.py`` ``release_freed_memory``).
Prints each download's wall time and the resident memory after it, then the process's high-water mark
(``VmHWM``): docs/performance.md "One allocator".
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# Run as a script, sys.path[0] is benchmarks/, whose edge.py would shadow the edge package: project root first.
sys.path[:] = [str(HERE.parent), *(p for p in sys.path if Path(p or ".").resolve() != HERE), str(HERE)]

from _runners import NOT_IN_LAMBDA, Absent  # noqa: E402

# (layout, format, query): full exports, then filtered ones (10pct and 1pct organisations of the dataset).
DOWNLOADS = (
    ("sorted", "csv", ""),
    ("sorted", "json", ""),
    ("unsorted", "parquet", ""),
    ("unsorted", "geojson", ""),
    ("sorted", "csv", "10pct"),
    ("unsorted", "csv", "10pct"),
    ("unsorted", "json", "1pct"),
    ("sorted", "csv", "1pct"),
    ("unsorted", "ndjson", "1pct"),
)


def high_water_mb() -> int:
    """This process's peak resident memory so far (``VmHWM``), in MB."""
    with open("/proc/self/status", encoding="ascii") as status:
        return int(next(line for line in status if line.startswith("VmHWM:")).split()[1]) // 1024


def main(argv: Sequence[str] | None = None) -> int:
    """Make (or reuse) the dataset, then serve the downloads in a child process and print what it prints."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--memory-mb", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="the 200,000-row dataset instead of 2,000,000")
    args = parser.parse_args(argv)
    from _dataset import generate  # imports numpy, which the serving process must not have

    dataset = generate(200_000 if args.quick else 2_000_000)
    spec = {"folder": str(dataset.folder), "cases": dataset.cases, "rounds": args.rounds}
    environment = {**os.environ, "SCAN_ROW_GROUPS_AT_ONCE": "1", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(args.memory_mb)}
    child = subprocess.run([sys.executable, __file__, "--serve", json.dumps(spec)], env=environment, check=False)
    return child.returncode


def serve(spec: dict[str, Any]) -> int:
    """The child: serve every download in this one process, one line each, then the high-water mark."""
    sys.meta_path.insert(0, Absent(NOT_IN_LAMBDA))
    from worker.app import App
    from worker.config import WorkerSettings
    from worker.memory import keep_bytes, release_freed_memory, resident_bytes
    from worker.warmup import warm_up

    app = App(WorkerSettings(source=spec["folder"]))
    warm_up()
    keep = keep_bytes(os.environ)
    between: list[int] = []
    for _ in range(spec["rounds"]):
        for layout, fmt, case in DOWNLOADS:
            values = spec["cases"][case] if case else []
            query = f"organisation-entity={','.join(map(str, values))}" if values else ""
            event = {"rawPath": f"/{layout}.{fmt}", "rawQueryString": query, "headers": {}}
            event["requestContext"] = {"http": {"method": "GET"}}
            started = time.perf_counter()
            response = app.handle(event)
            size = sum(len(chunk) for chunk in response.body)
            wall = time.perf_counter() - started
            release_freed_memory(keep)
            between.append((resident_bytes() or 0) // 2**20)
            print(f"{layout} {fmt} {case or 'all'}: {wall:.2f} s, {size / 1e6:.1f} MB out, {between[-1]} MB after")
    print(f"high-water {high_water_mb()} MB; between downloads {min(between)}-{max(between)} MB")
    return 0


if __name__ == "__main__":
    sys.exit(serve(json.loads(sys.argv[2])) if sys.argv[1:2] == ["--serve"] else main())
