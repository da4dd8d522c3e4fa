"""Pay the engine's first-use costs at init, not in the first request: call :func:`warm_up` once per process.

pyarrow registers compute kernels, the Parquet reader and its codecs lazily, and polars starts its thread
pool on first use: together ~0.5 s that a fresh Lambda's first download would otherwise spend before its
first byte (docs/performance.md). One tiny in-memory file goes through the same path as a request: open,
plan with a filter, scan, every format's encoder and gzip. DuckDB (worker/duckscan.py) is left to the first
download it decodes: its import and first use take ~0.1-0.2 s but keep 46 MB, which a process serving only sorted
files or full exports never needs (docs/performance.md "DuckDB decodes unsorted filters").
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq

from edge.contract import Format, parse_request
from worker.compress import gzip_chunks
from worker.encoders import ENCODERS
from worker.scan import execute, open_parquet, plan_scan
from worker.source import BytesReader


def _sample() -> bytes:
    table = pa.table(
        {
            "entity": pa.array([1, 2, 3], pa.int64()),
            "name": pa.array(['a "b", c', None, ""]),
            "organisation-entity": pa.array([7, 7, 8], pa.int64()),
            "start-date": pa.array([dt.date(2024, 1, 2), None, dt.date(1999, 12, 31)], pa.date32()),
            "entry-time": pa.array([dt.datetime(2024, 1, 2, 3, 4, 5), None, None], pa.timestamp("ms")),
            "area": pa.array([1.5, None, 2.0]),
            "geometry": pa.array(["POINT (1 2)", "POLYGON ((0 0, 1 0, 1 1, 0 0))", None]),
        }
    )
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, row_group_size=2, compression="zstd")
    return sink.getvalue().to_pybytes()


def warm_up() -> int:
    """Run a tiny scan and encode of every format (gzip included); return the bytes produced (for logs).

    >>> warm_up() > 0
    True
    """
    data = _sample()
    produced = 0
    for fmt in Format:
        for query in ("organisation-entity=7", "fields=entity,name,geometry"):
            request = parse_request("GET", f"/warm-up.{fmt.value}", query)
            parquet = open_parquet(BytesReader(data))
            plan = plan_scan(parquet, request)
            chunks = ENCODERS[fmt].encoder(plan.output_schema, execute(parquet, plan, request))
            if ENCODERS[fmt].compressible:
                chunks = gzip_chunks(chunks)
            produced += sum(len(chunk) for chunk in chunks)
    return produced
