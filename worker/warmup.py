"""Pay the engine's first-use costs at init, not in the first request: call :func:`warm_up` once per process.

pyarrow registers compute kernels, the Parquet reader and its codecs lazily, and polars starts its thread
pool on first use: together ~0.5 s that a fresh Lambda's first download would otherwise spend before its
first byte (docs/performance.md). One tiny in-memory file goes through the same path as a request: open,
plan with a filter, scan, every format's encoder and gzip.

DuckDB (worker/duckscan.py) decodes filtered downloads of unsorted files; its import and first query take ~0.1 s
and keep ~46 MB. A process decoding two row groups at once (worker/parallelism.py: functions of 3,538 MB or more)
pays that here too, where memory is plentiful; one at a time, the function is sized by its memory and DuckDB is
left to the first download it decodes, which a process serving only sorted files or full exports never has
(docs/performance.md "DuckDB decodes unsorted filters").

Last, it faults in the heap the next download will use (worker/memory.py :func:`~worker.memory.reserve`): a fresh
process's first small download otherwise spends a third of its time on page faults.
"""

from __future__ import annotations

import datetime as dt
import os

import pyarrow as pa
import pyarrow.parquet as pq

from edge.contract import Format, parse_request
from worker import duckscan, memory, scan
from worker.compress import gzip_chunks
from worker.encoders import ENCODERS
from worker.source import BytesReader


def _sample(organisations: list[int]) -> bytes:
    """Three rows in row groups of two: ``organisations`` ordered [7, 7, 8] let statistics skip a row group for
    ``organisation-entity=7`` (pyarrow's path); [7, 8, 7] keep both (DuckDB's, for the columns it gives back
    exactly: not the timestamp)."""
    table = pa.table(
        {
            "entity": pa.array([1, 2, 3], pa.int64()),
            "name": pa.array(['a "b", c', None, ""]),
            "organisation-entity": pa.array(organisations, pa.int64()),
            "start-date": pa.array([dt.date(2024, 1, 2), None, dt.date(1999, 12, 31)], pa.date32()),
            "entry-time": pa.array([dt.datetime(2024, 1, 2, 3, 4, 5), None, None], pa.timestamp("ms")),
            "area": pa.array([1.5, None, 2.0]),
            "geometry": pa.array(["POINT (1 2)", "POLYGON ((0 0, 1 0, 1 1, 0 0))", None]),
        }
    )
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, row_group_size=2, compression="zstd")
    return sink.getvalue().to_pybytes()


def warm_up(*, duckdb: bool | None = None) -> int:
    """Run a tiny scan and encode of every format (gzip included), and a DuckDB scan if ``duckdb`` (by default
    when the process decodes two row groups at once and DuckDB is installed), then fault in the heap the next
    download will use (``MEMORY_RESERVE_MB``); return the bytes produced (for logs).

    >>> warm_up(duckdb=False) > 0
    True
    """
    if duckdb is None:
        duckdb = scan.ROW_GROUPS_AT_ONCE > 1 and duckscan.available()
    data = _sample([7, 7, 8])
    produced = 0
    for fmt in Format:
        for query in ("organisation-entity=7", "fields=entity,name,geometry"):
            produced += _download(data, fmt, query)
    if duckdb:
        query = "organisation-entity=7&fields=entity,name,area,geometry"
        produced += _download(_sample([7, 8, 7]), Format.CSV, query)
    memory.reserve(memory.reserve_bytes(os.environ, scan.ROW_GROUPS_AT_ONCE))
    return produced


def _download(data: bytes, fmt: Format, query: str) -> int:
    request = parse_request("GET", f"/warm-up.{fmt.value}", query)
    parquet = scan.open_parquet(BytesReader(data))
    plan = scan.plan_scan(parquet, request)
    chunks = ENCODERS[fmt].encoder(plan.output_schema, scan.execute(parquet, plan, request))
    if ENCODERS[fmt].compressible:
        chunks = gzip_chunks(chunks)
    return sum(len(chunk) for chunk in chunks)
