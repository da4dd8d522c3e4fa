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
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from worker.errors import CorruptSource, SourceChanged
from worker.plan import ScanPlan
from worker.source import RangeReader

# One buffer per column chunk being read, as the pyarrow path streams (worker/scan.py STREAM_BUFFER_BYTES).
STREAM_BYTES = 2 * 1024 * 1024
# DuckDB's batches, a quarter of the pyarrow path's 8 MiB (worker/scan.py sizes both). Its first batch is out only
# once full, and it builds the next while the encoder has this one: on the benchmark's unsorted file, one at a time,
# 8 MiB batches peaked at 294-304 MB (10pct, with polars) with the first byte of 1pct after 0.7-0.9 s; 2,048-4,096-row
# batches (1.2-2.4 MiB) at 249-292 MB after 0.2-0.5 s, in the same total time (docs/performance.md).
BATCH_BYTES = 2 * 1024 * 1024
# Small chunks are fetched together when at most this much lies between them (pyarrow's pre-buffer: 8 KiB).
HOLE_BYTES = 64 * 1024
PROTOCOL = "dataset"
PATH = f"{PROTOCOL}://source.parquet"  # the one file a connection may open (see _connect)
# DuckDB's virtual column of a row's position in the file, which cuts a scan into parts (read_parquet's option).
ROW_NUMBER = "file_row_number"
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
    (see module doc), of a file whose statistics, and filter columns if the count pass read them, could not narrow
    the filter down (``pruned`` allows that too).
    """
    if not available() or not plan.filters or not plan.row_groups or metadata.num_rows == 0:
        return False
    if not pruned and len(plan.row_groups) < plan.row_groups_total:
        return False
    if not pruned and any(mask is not None and not mask.true_count for mask in plan.masks.values()):
        return False  # the count pass found row groups without a match: pyarrow skips them, DuckDB would not
    names = [name.casefold() for name in schema.names]
    if len(set(names)) != len(names) or "" in names or ROW_NUMBER in names:
        return False  # DuckDB's identifiers are case-insensitive, an empty one is not one, and one is DuckDB's own
    # A column stored as a dictionary, a timestamp, a decimal... would come back as another type.
    if not all(_is(field.type, _EXACT) for field in plan.output_schema):
        return False
    return all(_is(schema.field(column).type, _FILTERABLE) for column, _ in plan.filters)


def _is(data_type: pa.DataType, tests: tuple[Any, ...]) -> bool:
    return any(test(data_type) for test in tests)


class Scan:
    """One DuckDB scan of a plan: iterate :meth:`part` for the batches of each part of the file (several at once,
    from different threads, each one query on its own cursor of one connection); :meth:`cancel` stops them from
    another thread; :meth:`close` once no part is iterated any more.

    A part yields the plan's matching rows in its rows of the file, projected, in file order, as batches of
    ``batch_rows`` rows (the last fewer). Errors come out as the pyarrow path's: the source's own (SourceChanged,
    SourceUnavailable...) as the reader raised them, anything else a read raised as itself, DuckDB running out of
    memory as MemoryError, and what DuckDB cannot decode as CorruptSource; an error in the query or the
    configuration stays DuckDB's own (an internal error). Cancelled, reads fail at once and parts end without an
    error.
    """

    def __init__(self, readable: RangeReader, metadata: pq.FileMetaData, plan: ScanPlan, parts: int, batch_rows: int):
        """``parts``: how many parts are read at once (the buffers are sized for them)."""
        columns = set(plan.output_schema.names) | {column for column, _ in plan.filters}
        self.files = _Files.of(readable, metadata, columns, parts)
        self.plan = plan
        self.parts = max(1, parts)
        self.batch_rows = batch_rows
        self._connection: Any = None
        self._idle: list[Any] = []  # cursors no part is reading through
        self._busy: list[Any] = []
        self._closed = False
        self._lock = threading.Lock()

    def cancel(self) -> None:
        """Stop the scan: every read from now on fails, and the queries running are interrupted."""
        with self._lock:
            self.files.cancelled = True
            for cursor in self._busy:
                cursor.interrupt()

    def close(self) -> None:
        """Close the connection, now if no part is running, else when the last one ends; no part starts after."""
        with self._lock:
            self._closed = True
            self._close_if_idle()

    def _close_if_idle(self) -> None:  # call with the lock held
        if self._closed and not self._busy and self._connection is not None:
            for cursor in self._idle:
                cursor.close()
            self._connection.close()
            self._connection, self._idle = None, []

    def part(self, rows: tuple[int, int] | None) -> Generator[pa.RecordBatch, None, None]:
        """The batches of the file's rows ``[first, end)``, or of the whole file for None."""
        import duckdb  # noqa: PLC0415  # 46 MB and 0.1 s with the first connection: only on this path (worker/warmup.py)

        schema = self.plan.output_schema
        cursor: Any = None
        try:
            with self._lock:
                if self.files.cancelled or self._closed:
                    return
                if self._connection is None:
                    self._connection, self._idle = _connect(duckdb, self.files, self.parts)
                cursor = self._idle.pop()  # IndexError: more parts at once than the scan was made for
                self._busy.append(cursor)
            query, params = _query(self.plan, rows)
            reader = cursor.sql(query, params=params).to_arrow_reader(self.batch_rows)
            try:
                for batch in reader:
                    if batch.num_rows:
                        columns = [column.cast(field.type) for column, field in zip(batch.columns, schema, strict=True)]
                        yield pa.RecordBatch.from_arrays(columns, schema=schema)
            finally:
                reader.close()
        except (duckdb.Error, pa.ArrowException, OSError) as error:
            if self.files.cancelled:
                return
            translated = self._translated(duckdb, error)
            if translated is error:
                raise
            raise translated from error
        finally:
            with self._lock:
                if cursor is not None:
                    self._busy.remove(cursor)
                    self._idle.append(cursor)
                self._close_if_idle()

    def _translated(self, duckdb: Any, error: Exception) -> BaseException:
        if self.files.failure is not None:
            return self.files.failure  # what a read raised (DuckDB's IOException or Arrow's error wraps it)
        if isinstance(error, duckdb.OutOfMemoryException):
            return MemoryError(str(error))
        internal = (duckdb.BinderException, duckdb.ParserException, duckdb.CatalogException, duckdb.PermissionException)
        query_or_configuration = isinstance(error, internal)
        if query_or_configuration:
            return error  # not the file's fault: an internal error
        if "not valid UTF8" in str(error):  # DuckDB checks a Parquet string is UTF-8 (pyarrow's path: scan._valid)
            return CorruptSource("The dataset's file is not valid: some of its text is not UTF-8.")
        return CorruptSource("The dataset's file is not a readable Parquet file.")


def _connect(duckdb: Any, files: _Files, sessions: int) -> tuple[Any, list[Any]]:
    """A fresh in-memory connection that may read only ``files``' one file, and ``sessions`` cursors on it,
    configured and then locked. A query runs on one thread, the one fetching its batches: several parts are read at
    once on as many cursors (a cursor's session settings are its own: each is set before the lock).
    """
    connection = duckdb.connect(
        config={
            "threads": 1,
            "preserve_insertion_order": True,  # rows in file order, whatever the threads
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
    )
    try:
        # Read page by page through ChunkFile's buffers (DuckDB's default prefetches whole row groups: 270 MB of
        # one 1M-row group's geometry), and keep nothing between requests: each reads its own pinned version.
        connection.execute("SET GLOBAL disable_parquet_prefetching = true")
        connection.execute("SET GLOBAL enable_external_file_cache = false")
        connection.register_filesystem(files.filesystem())
        cursors = [connection.cursor() for _ in range(max(1, sessions))]
        for cursor in cursors:
            # What a query runs ahead of its consumer: a batch (its default, 10 MiB, read far past sparse matches).
            cursor.execute(f"SET streaming_buffer_size = '{BATCH_BYTES}B'")
            cursor.execute(f"SET max_streaming_buffer_size = '{BATCH_BYTES}B'")
        # The one file it may read; no other file, no extension (nor its download), no settings changed after this.
        connection.execute(f"SET GLOBAL allowed_paths = ['{PATH}']")
        connection.execute("SET GLOBAL enable_external_access = false")
        connection.execute("SET GLOBAL lock_configuration = true")
    except BaseException:
        connection.close()
        raise
    return connection, cursors


def _query(plan: ScanPlan, rows: tuple[int, int] | None = None) -> tuple[str, list[Any]]:
    """``SELECT "a", "b" FROM read_parquet(...) WHERE "c" IN (?, ?)``: every name quoted, every value a parameter;
    with ``rows``, only the file's rows ``[first, end)`` (DuckDB then skips the row groups outside them).

    >>> plan = ScanPlan(pa.schema([("name", pa.string())]), [("org", pa.array([7, 8]))], 1, [0])
    >>> _query(plan)
    ('SELECT "name" FROM read_parquet(\\'dataset://source.parquet\\') WHERE "org" IN (?, ?)', [7, 8])
    >>> _query(plan, (0, 10))[0].split(" WHERE ")[1], _query(plan, (0, 10))[1]
    ('"org" IN (?, ?) AND file_row_number >= ? AND file_row_number < ?', [7, 8, 0, 10])
    """
    columns = ", ".join(_quoted(name) for name in plan.output_schema.names)
    conditions = []
    params: list[Any] = []
    for column, values in plan.filters:
        conditions.append(f"{_quoted(column)} IN ({', '.join('?' * len(values))})")
        params.extend(values.to_pylist())
    options = ""
    if rows is not None:  # a virtual column (suits refuses a file with a column of that name)
        options = f", {ROW_NUMBER} = true"
        conditions.append(f"{ROW_NUMBER} >= ? AND {ROW_NUMBER} < ?")
        params.extend(rows)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    # Names are the file's own, quoted (a quote in one doubled); values are parameters, never in the text.
    query = f"SELECT {columns} FROM read_parquet('{PATH}'{options}){where}"  # noqa: S608  # nosec B608
    return query, params


def _quoted(name: str) -> str:
    """A DuckDB identifier: ``_quoted('a"b')`` → ``"a""b"``."""
    return '"' + name.replace('"', '""') + '"'


class Cancelled(Exception):  # what a read raises once the scan is cancelled: not an error to report
    """The scan was cancelled (the download's consumer went away)."""


class _Files:
    """The pinned object as DuckDB sees it: a filesystem holding one file, whose column chunks are read into
    buffers shared by every handle DuckDB opens (see :class:`ChunkFile`).
    """

    def __init__(self, readable: RangeReader, chunks: list[tuple[int, int]], max_bytes: int) -> None:
        self.readable = readable
        self.size = readable.size
        self.chunks = chunks  # [start, end) of each chunk DuckDB may read, in file order; the footer's last
        self.starts = [start for start, _ in chunks]
        self.max_bytes = max_bytes
        self.buffers: dict[int, tuple[int, bytes]] = {}  # chunk index → (offset, bytes); coalesced ones share
        self.holders: dict[int, int] = {}  # id(bytes) → chunks holding it
        self.pending: dict[int, threading.Event] = {}  # chunk index → set once the read filling it is done
        self.held = 0  # bytes of distinct buffers
        self.lock = threading.Lock()
        self.failure: BaseException | None = None
        self.cancelled = False

    @classmethod
    def of(cls, readable: RangeReader, metadata: pq.FileMetaData, columns: Collection[str], threads: int) -> _Files:
        """The file of ``metadata``'s chunks of ``columns``, buffering what ``threads`` row groups at once need."""
        chunks = chunk_ranges(metadata, readable.size, columns)
        per_group = -(-(len(chunks) - 1) // max(1, metadata.num_row_groups))
        return cls(readable, chunks, (max(1, threads) * max(1, per_group) + 1) * STREAM_BYTES)

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
    fetched whole. A chunk being filled is claimed first, so two threads never fetch it twice. A chunk lets go of
    its buffer once read to its end; the least recently used go first when the buffers pass what the chunks
    DuckDB decodes at once need.

    DuckDB reads one handle from several threads, each seeking then reading: the position is kept per thread (as
    :class:`~worker.source.RangeReader` does), and so is the buffer the thread read last, which serves its next
    reads without the lock (a thread may so keep one buffer the others have let go of: at most one each).
    """

    def __init__(self, files: _Files) -> None:
        self.files = files
        self.local = threading.local()

    def seek(self, offset: int, whence: int = 0) -> int:
        position = offset if whence == 0 else offset + (self.tell() if whence == 1 else self.files.size)
        self.local.position = position
        return position

    def tell(self) -> int:
        position: int = getattr(self.local, "position", 0)
        return position

    def read(self, size: int = -1) -> bytes:
        local = self.local
        start: int = getattr(local, "position", 0)
        end = self.files.size if size < 0 else min(self.files.size, start + size)
        if end <= start:
            return b""
        # Most reads (a page, a page header, a byte) fall in the buffer this thread read last: served without the
        # lock. DuckDB's column readers read their chunks in order, one thread each; 1 in 27 reads needs the rest.
        hit: tuple[int, bytes, int] | None = getattr(local, "hit", None)
        if hit is not None and hit[0] <= start and end <= hit[2] and not self.files.cancelled:
            local.position = end
            return hit[1][start - hit[0] : end - hit[0]]
        try:
            if self.files.cancelled:
                raise Cancelled
            data = self._read(start, end)
        except BaseException as error:
            # DuckDB turns it into an IOException of its own: the scan raises this one instead.
            self.files.failure = self.files.failure or error
            raise
        self.local.position = end
        return data

    def _read(self, start: int, end: int) -> bytes:
        files = self.files
        index = bisect.bisect_right(files.starts, start) - 1
        if index < 0 or start >= files.chunks[index][1]:
            return _exactly(files.readable, start, end)  # outside the chunks it was told of
        buffered, head = self._buffer(index, start, end)
        offset, data = buffered
        chunk_end = files.chunks[index][1]
        with files.lock:
            if end == chunk_end and index < len(files.chunks) - 1:
                files.drop(index)  # read to its end (the footer is read again by each handle)
                self.local.hit = None
            else:
                files.keep(range(index, index + 1), buffered)
                # Later reads ending before the chunk's end are served from it (ending there, they drop it).
                self.local.hit = (offset, data, min(offset + len(data), chunk_end - 1))
        if head:  # begun in the chunk's buffer before this one: nothing of it was fetched again
            return head + data[: end - offset]
        return data[start - offset : end - offset]

    def _buffer(self, index: int, start: int, end: int) -> tuple[tuple[int, bytes], bytes]:
        """Chunk ``index``'s buffer holding ``[start, end)`` (as it is once another thread has filled it, or filled
        here), and the read's bytes before that buffer: those in the chunk's previous buffer when the read began
        there, else none.
        """
        files = self.files
        while True:
            with files.lock:
                buffered, pending = files.buffers.get(index), files.pending.get(index)
                if buffered is not None and buffered[0] <= start and end <= buffered[0] + len(buffered[1]):
                    return buffered, b""
                fill = self._claim(index, start, end, buffered) if pending is None else None
            if fill is not None:
                before = fill.before
                return fill.run(files), b"" if before is None else before[1][start - before[0] :]
            if pending is not None:
                pending.wait()  # another thread is reading this chunk (with others): then look again

    def _claim(self, index: int, start: int, end: int, buffered: tuple[int, bytes] | None) -> _Fill:
        """Decide the read that fills chunk ``index`` for ``[start, end)`` and claim the chunks it fills (call
        with the lock held)."""
        files = self.files
        chunks = files.chunks
        chunk_start, chunk_end = chunks[index]
        if buffered is not None and buffered[0] <= start < buffered[0] + len(buffered[1]):
            # The next part of a big chunk, after the bytes already read (not fetched again, nor copied).
            have = buffered[0] + len(buffered[1])
            fill = _Fill(range(index, index + 1), have, max(end, min(chunk_end, have + STREAM_BYTES)), buffered)
        elif chunk_end - chunk_start > STREAM_BYTES:
            fill = _Fill(range(index, index + 1), start, max(end, min(chunk_end, start + STREAM_BYTES)))
        else:
            last = index
            while (
                last + 1 < len(chunks)
                and last + 1 not in files.buffers
                and last + 1 not in files.pending
                and chunks[last + 1][0] - chunks[last][1] <= HOLE_BYTES
                and chunks[last + 1][1] - chunk_start <= STREAM_BYTES
            ):
                last += 1
            fill = _Fill(range(index, last + 1), chunk_start, max(end, chunks[last][1]))
        files.pending.update(dict.fromkeys(fill.indexes, fill.done))
        return fill

    def close(self) -> None:
        """Nothing to free: the buffers belong to the scan. (DuckDB calls only seek, tell, read and close.)"""


@dataclass
class _Fill:
    """One claimed read: ``[start, end)`` becomes the buffer of the chunks ``indexes``, following ``before`` (the
    chunk's buffer the read that claimed it began in, if any); ``done`` is set when it is over, filled or failed."""

    indexes: range
    start: int
    end: int
    before: tuple[int, bytes] | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def run(self, files: _Files) -> tuple[int, bytes]:
        """Fetch, hold the buffer for the claimed chunks, release the claim (also on failure)."""
        filled: tuple[int, bytes] | None = None
        try:
            filled = (self.start, _exactly(files.readable, self.start, self.end))
            return filled
        finally:
            with files.lock:
                for index in self.indexes:
                    files.pending.pop(index, None)
                if filled is not None:
                    files.keep(self.indexes, filled)
            self.done.set()


def _exactly(readable: RangeReader, start: int, end: int) -> bytes:
    """Bytes ``[start, end)`` of the pinned object: fewer means it was cut short while being read."""
    data = readable.read_range(start, end)
    if len(data) != end - start:
        raise SourceChanged("The dataset changed while it was being read.")
    return data
