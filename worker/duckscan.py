"""DuckDB as the scan's decoder where statistics cannot help: the same rows, in the same order, as pyarrow's path.

DuckDB decodes this service's Parquet (long WKT strings) about three times faster than pyarrow on one core
(docs/performance.md "DuckDB decodes unsorted filters"), which is what a filter on an unsorted file costs: every row
group read, every page holding a match. It reads the file through a Python filesystem (:class:`ChunkFile`) over
the request's pinned :class:`~worker.source.RangeReader`, so every byte still comes from the version ``stat`` saw,
with its counters and its errors; column chunks are read in buffers of up to :data:`STREAM_BYTES` (one GET each,
small chunks together), as pyarrow's path reads them. Its Arrow batches are cast to the plan's output schema, so
encoders see exactly what pyarrow gives.

:func:`suits` decides whether a plan is scanned this way: a filtered scan of a file whose statistics kept every row
group (on a sorted file pyarrow is faster: it reads only the row groups statistics keep and starts sooner), whose
output and filter columns have types DuckDB gives back exactly (integers, floats, booleans, text, binary, dates),
and whose column names are distinct ignoring case (DuckDB's identifiers are case-insensitive).
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import importlib.util
import threading
from collections.abc import Collection, Generator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from worker.errors import CorruptSource, WorkerError
from worker.plan import ScanPlan
from worker.source import RangeReader

# One buffer per column chunk being read, as the pyarrow path streams (worker/scan.py STREAM_BUFFER_BYTES).
STREAM_BYTES = 2 * 1024 * 1024
# DuckDB's batches: a quarter of the pyarrow path's 8 MiB (worker/scan.py). Its first batch is out only once full,
# and it builds the next while the encoder has this one: on the benchmark's unsorted file, one at a time, 8 MiB
# batches peaked at 294-304 MB (10pct, with polars) with the first byte of 1pct after 0.7-0.9 s; 2,048-4,096-row
# batches (1.2-2.4 MiB) at 249-292 MB after 0.2-0.5 s, in the same total time (docs/performance.md).
BATCH_BYTES = 2 * 1024 * 1024
# Small chunks are fetched together when at most this much lies between them (pyarrow's pre-buffer: 8 KiB).
HOLE_BYTES = 64 * 1024
PROTOCOL = "dataset"
# DuckDB's Arrow type for each Arrow type it reads back exactly (after the cast to the file's type).
_EXACT = (
    pa.types.is_integer,
    pa.types.is_floating,
    pa.types.is_boolean,
    pa.types.is_string,
    pa.types.is_large_string,
    pa.types.is_binary,
    pa.types.is_large_binary,
    pa.types.is_date32,
)
# Filter columns: DuckDB compares these exactly as pyarrow's is_in does (a float32 filter would be widened).
_FILTERABLE = (pa.types.is_integer, pa.types.is_string, pa.types.is_large_string, pa.types.is_date32)


@functools.cache
def available() -> bool:
    """Whether duckdb (and fsspec, which its Python filesystems need) are installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("duckdb", "fsspec"))


def suits(metadata: pq.FileMetaData, schema: pa.Schema, plan: ScanPlan, *, pruned: bool = False) -> bool:
    """Whether DuckDB should decode ``plan``: a filtered scan it gives exactly the pyarrow path's rows and types
    (see module doc), on a file whose statistics could not narrow the filter down (``pruned`` allows that too).
    """
    if not available() or not plan.filters or not plan.row_groups:
        return False
    if not pruned and len(plan.row_groups) < plan.row_groups_total:
        return False
    names = [name.casefold() for name in schema.names]
    if len(set(names)) != len(names):
        return False
    # A column stored as a dictionary, a timestamp, a decimal... would come back as another type.
    if not all(_is(field.type, _EXACT) for field in plan.output_schema):
        return False
    if not all(_is(schema.field(column).type, _FILTERABLE) for column, _ in plan.filters):
        return False
    return metadata.num_rows > 0


def _is(data_type: pa.DataType, tests: tuple[Any, ...]) -> bool:
    return any(test(data_type) for test in tests)


def scan(readable: RangeReader, metadata: pq.FileMetaData, plan: ScanPlan, threads: int) -> Generator[pa.RecordBatch]:
    """The plan's matching rows, projected, in file order, as batches of about :data:`BATCH_BYTES`.

    Errors come out as the pyarrow path's: the source's own (SourceChanged, SourceUnavailable...) as raised by
    the reader, anything DuckDB cannot decode as CorruptSource.
    """
    import duckdb  # noqa: PLC0415  # only on this path: with the first connection 50 MB and 0.1 s, kept once paid

    columns = set(plan.output_schema.names) | {column for column, _ in plan.filters}
    file = _Files(readable, metadata, columns, threads)
    connection = duckdb.connect(
        config={
            "threads": max(1, threads),
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
    )
    reader: pa.RecordBatchReader | None = None
    try:
        # Read page by page through ChunkFile's buffers (DuckDB's default prefetches whole row groups: 270 MB of
        # one 1M-row group's geometry), and keep nothing between requests: each reads its own pinned version.
        connection.execute("SET disable_parquet_prefetching = true")
        connection.execute("SET enable_external_file_cache = false")
        connection.register_filesystem(file.filesystem())
        # The one file it may read; no other file, no extension (nor its download), no settings changed after this.
        connection.execute(f"SET allowed_paths = ['{PROTOCOL}://source.parquet']")
        connection.execute("SET enable_external_access = false")
        connection.execute("SET lock_configuration = true")
        query, params = _query(plan)
        reader = connection.sql(query, params=params).to_arrow_reader(_batch_rows(metadata, plan))
        schema = plan.output_schema
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            if batch.num_rows:
                yield pa.RecordBatch.from_arrays(
                    [column.cast(field.type) for column, field in zip(batch.columns, schema, strict=True)],
                    schema=schema,
                )
    except (duckdb.BinderException, duckdb.ParserException, duckdb.CatalogException, duckdb.PermissionException):
        raise  # the query or the configuration is wrong, not the file: an internal error
    except (duckdb.Error, pa.ArrowException, OSError) as error:  # Arrow's stream wraps DuckDB's errors
        raise file.failure or CorruptSource("The dataset's file is not a readable Parquet file.") from error
    finally:
        if reader is not None:
            reader.close()
        connection.close()


def _query(plan: ScanPlan) -> tuple[str, list[Any]]:
    """``SELECT "a", "b" FROM read_parquet(...) WHERE "c" IN (?, ?)``: every name quoted, every value a parameter.

    >>> plan = ScanPlan(pa.schema([("name", pa.string())]), [("org", pa.array([7, 8]))], 1, [0])
    >>> _query(plan)
    ('SELECT "name" FROM read_parquet(\\'dataset://source.parquet\\') WHERE "org" IN (?, ?)', [7, 8])
    """
    columns = ", ".join(_quoted(name) for name in plan.output_schema.names)
    conditions = []
    params: list[Any] = []
    for column, values in plan.filters:
        conditions.append(f"{_quoted(column)} IN ({', '.join('?' * len(values))})")
        params.extend(values.to_pylist())
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    # Names are the file's own, quoted (a quote in one doubled); values are parameters, never in the text.
    query = f"SELECT {columns} FROM read_parquet('{PROTOCOL}://source.parquet'){where}"  # noqa: S608  # nosec B608
    return query, params


def _quoted(name: str) -> str:
    """A DuckDB identifier: ``_quoted('a"b')`` → ``"a""b"``."""
    return '"' + name.replace('"', '""') + '"'


def _batch_rows(metadata: pq.FileMetaData, plan: ScanPlan) -> int:
    """Rows per batch: about :data:`BATCH_BYTES` of decoded output columns (at least 1,024 rows, at most 65,536)."""
    from worker.scan import BATCH_ROWS, MIN_BATCH_ROWS, projected_chunks  # noqa: PLC0415  # worker.scan imports this

    names = set(plan.output_schema.names)
    decoded = rows = 0
    for index in plan.row_groups:
        row_group = metadata.row_group(index)
        rows += row_group.num_rows
        decoded += sum(max(c.total_uncompressed_size, 8 * c.num_values) for c in projected_chunks(row_group, names))
    return min(BATCH_ROWS, max(MIN_BATCH_ROWS, BATCH_BYTES * rows // max(1, decoded)))


class _Files:
    """The pinned object as DuckDB sees it: a filesystem holding one file, whose column chunks are read into
    buffers shared by every handle DuckDB opens (see :class:`ChunkFile`).
    """

    def __init__(
        self, readable: RangeReader, metadata: pq.FileMetaData, columns: Collection[str], threads: int
    ) -> None:
        self.readable = readable
        self.size = readable.size
        self.chunks = chunk_ranges(metadata, self.size, columns)
        self.starts = [start for start, _ in self.chunks]
        # A buffer per chunk of the row groups DuckDB decodes at once (one per thread), and the footer's.
        per_group = -(-(len(self.chunks) - 1) // max(1, metadata.num_row_groups))
        self.max_bytes = (max(1, threads) * max(1, per_group) + 1) * STREAM_BYTES
        self.buffers: dict[int, tuple[int, bytes]] = {}  # chunk index → (offset, bytes); coalesced ones share
        self.holders: dict[int, int] = {}  # id(bytes) → chunks holding it
        self.pending: dict[int, threading.Event] = {}  # chunk index → set once the read filling it is done
        self.held = 0  # bytes of distinct buffers
        self.lock = threading.Lock()
        self.failure: WorkerError | MemoryError | None = None

    def keep(self, indexes: range, buffered: tuple[int, bytes]) -> None:
        """Hold ``buffered`` for the chunks ``indexes`` (most recently read last), then drop the least recently read
        until the distinct buffers fit :attr:`max_bytes`. Call with :attr:`lock` held."""
        for index in indexes:
            self.drop(index)
            self.buffers[index] = buffered
            key = id(buffered[1])
            self.holders[key] = self.holders.get(key, 0) + 1
            if self.holders[key] == 1:
                self.held += len(buffered[1])
        while self.held > self.max_bytes and len(self.buffers) > 1:
            self.drop(next(iter(self.buffers)))

    def drop(self, index: int) -> None:
        """Chunk ``index`` no longer holds its buffer (freed once no chunk does). Call with :attr:`lock` held."""
        buffered = self.buffers.pop(index, None)
        if buffered is None:
            return
        key = id(buffered[1])
        self.holders[key] -= 1
        if not self.holders[key]:
            del self.holders[key]
            self.held -= len(buffered[1])

    def filesystem(self) -> Any:
        from fsspec.spec import AbstractFileSystem  # noqa: PLC0415  # imported with duckdb, on this path only

        files = self

        class OneFile(AbstractFileSystem):  # type: ignore[misc]  # fsspec has no type hints
            protocol = PROTOCOL

            def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> ChunkFile:
                return ChunkFile(files)

            def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
                return {"name": path, "size": files.size, "type": "file"}

            def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
                return [self.info(path)] if detail else [path]

            def modified(self, path: str) -> Any:
                return dt.datetime.fromtimestamp(0, tz=dt.UTC)

        return OneFile(skip_instance_cache=True)


def chunk_ranges(metadata: pq.FileMetaData, size: int, columns: Collection[str]) -> list[tuple[int, int]]:
    """The byte ranges ``[start, end)`` of the column chunks of ``columns`` (top-level names), in file order,
    then the footer's (from the end of the last chunk of any column to ``size``).

    >>> import io; sink = io.BytesIO(); pq.write_table(pa.table({"a": [1, 2], "b": ["x", "y"]}), sink)
    >>> data = sink.getvalue(); ranges = chunk_ranges(pq.read_metadata(io.BytesIO(data)), len(data), {"b"})
    >>> len(ranges), ranges[-1][1] == len(data)
    (2, True)
    """
    ranges, last = [], 0
    for i in range(metadata.num_row_groups):
        row_group = metadata.row_group(i)
        for j in range(row_group.num_columns):
            chunk = row_group.column(j)
            start = chunk.data_page_offset
            if chunk.has_dictionary_page and chunk.dictionary_page_offset:
                start = min(start, chunk.dictionary_page_offset)
            last = max(last, start + chunk.total_compressed_size)
            if chunk.path_in_schema.split(".")[0] in columns:
                ranges.append((start, start + chunk.total_compressed_size))
    return [*sorted(ranges), (last, size)]


class ChunkFile:
    """One handle on the file for DuckDB: its reads served from the chunks' buffers (in :class:`_Files`).

    A buffer is filled by one ranged read (one S3 GET) of up to :data:`STREAM_BYTES`: the next part of a big chunk,
    or a small chunk whole together with the small chunks after it (up to :data:`STREAM_BYTES` in all, gaps of at
    most :data:`HOLE_BYTES`), as pyarrow's pre-buffering coalesces them; a read running past its chunk's end is
    fetched whole. A chunk lets go of its buffer once read to its end; the least recently read go first when the
    buffers pass what the chunks DuckDB decodes at once need.

    DuckDB reads one handle from several threads, each seeking then reading: the position is kept per thread (as
    :class:`~worker.source.RangeReader` does).
    """

    def __init__(self, files: _Files) -> None:
        self.files = files
        self.local = threading.local()

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.tell(), 2: self.files.size}[whence]
        self.local.position = base + offset
        return base + offset

    def tell(self) -> int:
        position: int = getattr(self.local, "position", 0)
        return position

    def read(self, size: int = -1) -> bytes:
        start = self.tell()
        end = self.files.size if size < 0 else min(self.files.size, start + size)
        if end <= start:
            return b""
        try:
            data = self._read(start, end)
        except (WorkerError, MemoryError) as error:
            # DuckDB turns it into an IOException of its own: scan() raises this one instead.
            self.files.failure = self.files.failure or error
            raise
        self.local.position = end
        return data

    def _read(self, start: int, end: int) -> bytes:
        files = self.files
        index = bisect.bisect_right(files.starts, start) - 1
        if index < 0 or start >= files.chunks[index][1]:
            return files.readable.read_range(start, end)  # outside the chunks it was told of
        while True:
            with files.lock:
                buffered, pending = files.buffers.get(index), files.pending.get(index)
            if buffered is not None and buffered[0] <= start and end <= buffered[0] + len(buffered[1]):
                break
            if pending is None:
                buffered = self._fill(index, start, end, buffered)
                break
            pending.wait()  # another thread is reading this chunk with the ones before it
        offset, data = buffered
        with files.lock:
            if end == files.chunks[index][1] and index < len(files.chunks) - 1:
                files.drop(index)  # read to its end (the footer is read again by each handle)
            else:
                files.keep(range(index, index + 1), buffered)
        return data[start - offset : end - offset]

    def _fill(self, index: int, start: int, end: int, buffered: tuple[int, bytes] | None) -> tuple[int, bytes]:
        """Read what ``[start, end)`` needs into chunk ``index``'s buffer (and those of small chunks after it)."""
        files = self.files
        chunks, read_range = files.chunks, files.readable.read_range
        chunk_start, chunk_end = chunks[index]
        if buffered is not None and buffered[0] <= start < buffered[0] + len(buffered[1]):
            # The next part of a big chunk: the bytes already read are kept, not fetched again.
            have = buffered[0] + len(buffered[1])
            return start, buffered[1][start - buffered[0] :] + read_range(
                have, max(end, min(chunk_end, start + STREAM_BYTES))
            )
        if chunk_end - chunk_start > STREAM_BYTES:
            return start, read_range(start, max(end, min(chunk_end, start + STREAM_BYTES)))
        last, done = index, threading.Event()
        with files.lock:
            while (
                last + 1 < len(chunks)
                and last + 1 not in files.buffers
                and last + 1 not in files.pending
                and chunks[last + 1][0] - chunks[last][1] <= HOLE_BYTES
                and chunks[last + 1][1] - chunk_start <= STREAM_BYTES
            ):
                last += 1
            files.pending.update(dict.fromkeys(range(index, last + 1), done))
        try:
            filled = (chunk_start, read_range(chunk_start, max(end, chunks[last][1])))
            with files.lock:
                files.keep(range(index + 1, last + 1), filled)
        finally:
            with files.lock:
                for other in range(index, last + 1):
                    files.pending.pop(other, None)
            done.set()
        return filled

    def close(self) -> None:
        """Nothing to free: the buffers belong to the scan."""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    @property
    def closed(self) -> bool:
        return False

    def __enter__(self) -> ChunkFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
