"""The Parquet scan, the only module that reads datasets: plan first (every 400 decided), then stream batches.

:func:`plan_scan` (worker/plan.py, re-exported here) checks columns, converts filter values to the columns'
types and prunes row groups by their statistics without reading any data page. :func:`execute` then reads one
row group at a time, only the needed columns, in batches of about :data:`BATCH_BYTES` of decoded data. A row
group small enough is fetched in one coalesced read (one S3 GET); a bigger one is streamed page by page through
bounded per-column buffers, so memory depends neither on the dataset's size nor on its row-group size
(docs/performance.md).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from edge.contract import DownloadRequest
from worker.errors import CorruptSource, WorkerError
from worker.plan import ScanPlan, ScanStats, plan_scan
from worker.prefetch import prefetched
from worker.pruning import row_group_all_match
from worker.source import ReadableSource

__all__ = [
    "BATCH_ROWS",
    "ParquetSource",
    "ScanPlan",
    "ScanStats",
    "execute",
    "open_parquet",
    "plan_scan",
    "row_group_mask",
]

MIB = 1024 * 1024
# Batches handed to encoders: small enough to bound their memory, large enough to amortise per-batch costs.
# A batch holds at most BATCH_ROWS rows and about BATCH_BYTES of decoded data (never fewer than MIN_BATCH_ROWS).
BATCH_ROWS = 65_536
MIN_BATCH_ROWS = 1_024
BATCH_BYTES = 8 * MIB
# Pre-buffering coalesces a row group's column chunks into few large reads (one S3 GET rather than one per
# column): kept for row groups whose projected chunks total at most PRE_BUFFER_MAX_BYTES (compressed), since
# it holds all of them in memory. Bigger row groups stream pages through one STREAM_BUFFER_BYTES buffer per
# column (measured on 1M-row groups: peak RSS 680 MB pre-buffered, ~270 MB streamed; docs/performance.md).
PRE_BUFFER_MAX_BYTES = 32 * MIB
STREAM_BUFFER_BYTES = 2 * MIB
# What pyarrow raises for a file that is not valid Parquet (bad magic, thrift, page or compression errors; the
# last come as OSError). Real I/O failures never reach here as OSError: the sources raise WorkerErrors.
_PARQUET_ERRORS = (pa.ArrowException, OSError)


def _use_returning_pool() -> None:
    """Allocate Arrow memory from jemalloc, returning freed pages at once: measured on 600k-row groups, peak RSS
    254 MB against 329 MB with the default mimalloc pool (docs/performance.md). ``ARROW_DEFAULT_MEMORY_POOL``
    set in the environment wins; a pyarrow built without jemalloc keeps its default.
    """
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
        pa.jemalloc_set_decay_ms(0)
    except NotImplementedError:  # pragma: no cover - depends on the pyarrow build
        return


_use_returning_pool()


class ParquetSource(pq.ParquetFile):
    """A pre-buffering Parquet reader that can also stream big row groups page by page (same footer, same file)."""

    def __init__(self, readable: ReadableSource | pa.NativeFile) -> None:
        # The stubs want typing.IO; pyarrow needs only read/seek/tell, which a ReadableSource has.
        super().__init__(readable, pre_buffer=True)  # type: ignore[arg-type]
        self._readable = readable
        self._streaming: pq.ParquetFile | None = None

    def streaming(self) -> pq.ParquetFile:
        """A reader of the same file without pre-buffering: bounded buffers, one read per buffer per column."""
        if self._streaming is None:
            self._streaming = pq.ParquetFile(
                self._readable,  # type: ignore[arg-type]
                metadata=self.metadata,
                pre_buffer=False,
                buffer_size=STREAM_BUFFER_BYTES,
            )
        return self._streaming


def open_parquet(readable: ReadableSource | pa.NativeFile) -> pq.ParquetFile:
    """Open a Parquet reader over ``readable``, reading only the footer; CorruptSource if it is not Parquet."""
    try:
        return ParquetSource(readable)
    except (WorkerError, MemoryError):
        raise
    except _PARQUET_ERRORS as error:
        raise CorruptSource("The dataset's file is not a readable Parquet file.") from error


def execute(parquet_file: pq.ParquetFile, plan: ScanPlan, request: DownloadRequest) -> Iterator[pa.RecordBatch]:
    """Stream the filtered, projected rows in source order as batches of at most :data:`BATCH_ROWS` rows.

    Stops reading once ``request.limit`` rows are out. Only non-empty batches are yielded: an empty result is
    no batch at all, with ``plan.output_schema`` still describing it. Counters go to ``plan.stats``. Without a
    limit, the next batch is read and filtered on a background thread while the caller encodes this one; with
    one, nothing is read ahead (a limit must not read a row group it does not need).
    """
    batches = _execute(parquet_file, plan, request.limit)
    return batches if request.limit is not None else prefetched(batches)


def _execute(parquet_file: pq.ParquetFile, plan: ScanPlan, limit: int | None) -> Iterator[pa.RecordBatch]:
    remaining = limit
    for index in plan.row_groups:
        if remaining is not None and remaining <= 0:
            return
        mask = row_group_mask(parquet_file, plan, index)
        if mask is not None and not mask.true_count:
            plan.stats.row_groups_skipped_by_filter += 1
            continue
        plan.stats.row_groups_read += 1
        for batch in _matching_batches(parquet_file, plan, index, mask):
            out = batch if remaining is None else batch.slice(0, remaining)
            if remaining is not None:
                remaining -= out.num_rows
            if out.num_rows:
                plan.stats.rows_out += out.num_rows
                plan.stats.batches_out += 1
                yield out
            if remaining is not None and remaining <= 0:
                return


def row_group_mask(parquet_file: pq.ParquetFile, plan: ScanPlan, index: int) -> pa.BooleanArray | None:
    """Which rows of row group ``index`` match, from its filter columns alone; None when every row does (no
    filter, or statistics that prove it). Late materialisation: the output columns are read only after this.
    """
    if not plan.filters or row_group_all_match(parquet_file.metadata.row_group(index), plan.filters):
        return None
    columns = list(dict.fromkeys(column for column, _ in plan.filters))
    parts = [_mask(batch, plan.filters) for batch in _read_row_group(parquet_file, columns, index)]
    return pa.concat_arrays(parts) if parts else pa.array([], pa.bool_())


def _matching_batches(
    parquet_file: pq.ParquetFile, plan: ScanPlan, index: int, mask: pa.BooleanArray | None
) -> Iterator[pa.RecordBatch]:
    """The row group's matching rows, projected: the output columns are decoded batch by batch and each batch
    filtered by its slice of ``mask``; reading stops after the batch holding the last match.
    """
    names = plan.output_schema.names
    last = None if mask is None else pc.indices_nonzero(mask)[-1].as_py()
    offset = 0
    for batch in _read_row_group(parquet_file, names, index):
        rows = batch.num_rows
        plan.stats.rows_read += rows
        yield _project(batch if mask is None else batch.filter(mask.slice(offset, rows)), plan.output_schema)
        offset += rows
        if last is not None and offset > last:
            return


def _read_row_group(parquet_file: pq.ParquetFile, columns: list[str], index: int) -> Iterator[pa.RecordBatch]:
    """One row group's batches of ``columns``, each about :data:`BATCH_BYTES` decoded; a fresh reader per row
    group so its pre-buffered bytes are freed after it.
    """
    compressed, decoded, rows = _projected_size(parquet_file.metadata.row_group(index), columns)
    reader = parquet_file
    if compressed > PRE_BUFFER_MAX_BYTES and isinstance(parquet_file, ParquetSource):
        reader = parquet_file.streaming()
    batch_rows = min(BATCH_ROWS, max(MIN_BATCH_ROWS, BATCH_BYTES * rows // max(1, decoded)))
    try:
        yield from reader.iter_batches(batch_size=batch_rows, row_groups=[index], columns=columns)
    except (WorkerError, MemoryError):
        raise
    except _PARQUET_ERRORS as error:
        raise CorruptSource("The dataset's file is not a readable Parquet file.") from error


def _projected_size(row_group: pq.RowGroupMetaData, columns: list[str]) -> tuple[int, int, int]:
    """The compressed and uncompressed bytes of the row group's chunks of ``columns`` (top-level names), and its
    row count. Example: 14 columns of 1M planning rows → about (300 MB, 620 MB, 1_000_000); ``entity`` alone → 4 MB.
    """
    wanted = set(columns)
    compressed = decoded = 0
    for i in range(row_group.num_columns):
        chunk = row_group.column(i)
        if chunk.path_in_schema.split(".")[0] in wanted:
            compressed += chunk.total_compressed_size
            # Dictionary-encoded pages are far smaller than their decoded values: count 8 bytes a value at least.
            decoded += max(chunk.total_uncompressed_size, 8 * chunk.num_values)
    return compressed, decoded, row_group.num_rows


def _mask(batch: pa.RecordBatch, filters: list[tuple[str, pa.Array[Any]]]) -> pa.BooleanArray:
    """Rows matching every column's filter (OR within a column's values, AND across columns); nulls never match."""
    masks = [pc.is_in(batch.column(column), value_set=values) for column, values in filters]
    return functools.reduce(pc.and_, masks)


def _project(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([batch.column(name) for name in schema.names], schema=schema)
