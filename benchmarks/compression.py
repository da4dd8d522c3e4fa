"""Gzip for the worker's CSV stream: throughput per core and ratio of zlib levels 1-9, python-isal, python-zlib-ng.

    .venv/bin/python benchmarks/compression.py [--rows 200000] [--chunk 262144] [--boundary-like]

The input is the worker's own CSV of the quick benchmark dataset (unfiltered), or pyarrow's CSV writer if the
worker's encoders are not importable. Each candidate compresses it the way ``worker.compress.gzip_chunks``
does: one raw-deflate stream fed chunk by chunk, never flushed mid-stream, plus a running CRC-32. Speed is MB
of *input* per CPU second (``time.process_time``: one core), best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# Run as a script, sys.path[0] is benchmarks/, whose edge.py would shadow the edge package: project root first.
sys.path[:] = [str(HERE.parent), *(p for p in sys.path if Path(p or ".").resolve() != HERE), str(HERE)]

from _dataset import boundary_like, generate  # noqa: E402

TARGET_MB_S = 100.0
TARGET_RATIO = 4.0


def csv_bytes(rows: int, boundaries: bool = False) -> tuple[bytes, str]:
    """The CSV of the whole dataset (its polygons made boundary-like when asked: ``_dataset.boundary_like``) and
    which encoder produced it."""
    import pyarrow.parquet as pq

    table = pq.read_table(generate(rows).path("sorted"))
    if boundaries:
        table = boundary_like(table)
    try:
        from edge.contract import Format
        from worker.encoders import ENCODERS

        spec = ENCODERS[Format.CSV]
        return b"".join(spec.encoder(table.schema, iter(table.to_batches(65_536)))), "worker"
    except ImportError:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        sink = pa.BufferOutputStream()
        pacsv.write_csv(table, sink)
        return sink.getvalue().to_pybytes(), "pyarrow"


Candidate = tuple[str, int, Any]  # implementation name, level, module with compressobj() and crc32()


def candidates() -> list[Candidate]:
    """(implementation, level, zlib-compatible module) for every installed implementation."""
    found: list[Candidate] = [("zlib", level, zlib) for level in range(1, 10)]
    for name, module, levels in (("zlib-ng", "zlib_ng.zlib_ng", range(1, 10)), ("isal", "isal.isal_zlib", range(4))):
        try:
            impl = importlib.import_module(module)
        except ImportError:
            print(f"# {name} not installed: skipped", file=sys.stderr)
            continue
        found += [(name, level, impl) for level in levels]
    return found


def measure(data: bytes, chunk: int, impl: Any, level: int) -> tuple[float, int]:
    """CPU seconds and compressed size of one streaming raw-deflate pass with a running CRC-32."""
    view = memoryview(data)
    crc32 = impl.crc32
    started = time.process_time()
    deflate = impl.compressobj(level, impl.DEFLATED, -15)
    crc, out = 0, 0
    for offset in range(0, len(data), chunk):
        piece = view[offset : offset + chunk]
        crc = crc32(piece, crc)
        out += len(deflate.compress(piece))
    out += len(deflate.flush()) + 18  # gzip header and trailer
    return time.process_time() - started, out


def main(argv: Sequence[str] | None = None) -> int:
    """Print a Markdown table of every candidate and the recommendation."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--chunk", type=int, default=256 * 1024, help="bytes per compress() call")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--boundary-like", action="store_true", help="polygons as ordered walks of small steps (an assumption)"
    )
    args = parser.parse_args(argv)
    data, encoder = csv_bytes(args.rows, args.boundary_like)
    polygons = "boundary-like polygons" if args.boundary_like else "the dataset's polygons"
    print(f"# input: {len(data) / 1e6:.1f} MB of CSV ({args.rows:,} rows, {polygons}, {encoder} encoder)\n")
    print("| implementation | level | MB/s in per core | ratio | meets both goals |")
    print("|---|---|---|---|---|")
    best: tuple[float, str] | None = None
    for name, level, impl in candidates():
        seconds, size = min(measure(data, args.chunk, impl, level) for _ in range(args.repeat))
        speed, ratio = len(data) / 1e6 / seconds, len(data) / size
        ok = speed >= TARGET_MB_S and ratio >= TARGET_RATIO
        print(f"| {name} | {level} | {speed:.0f} | {ratio:.2f} | {'yes' if ok else ''} |")
        if ok and (best is None or ratio > best[0]):
            best = (ratio, f"{name} level {level}")
    print(f"\nBest ratio meeting ≥{TARGET_MB_S:.0f} MB/s and ≥{TARGET_RATIO:.0f}x: {best[1] if best else 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
