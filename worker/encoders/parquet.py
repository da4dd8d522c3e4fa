"""Parquet: one file from one streaming ``ParquetWriter`` (zstd, row groups of at most 65,536 rows or 16 MiB,
dictionary encoding only where the Arrow column is a dictionary: :func:`dictionary_columns`).

The writer writes into an in-memory sink that is drained after every row group, so memory holds at most
one row group's rows plus its encoded bytes. The bytes depend on the rows alone, not on how the scan batched
them (DuckDB's batches differ from pyarrow's, and each profile's from the other's), as docs/formats.md promises
and an immutable stored result needs: rows are gathered in pieces of ``WRITE_BATCH_ROWS`` counted from the first
row, a row group ends at the piece that brings it to ``ROW_GROUP_ROWS`` rows or ``ROW_GROUP_BYTES`` of Arrow
data, and the writer, which encodes each chunk it is given in pieces of ``WRITE_BATCH_ROWS`` and checks its page
and dictionary limits after each, gets chunks aligned to them, so its pages are the ones a single chunk would
give. If the batch iterator raises, the writer is abandoned without ``close()``: no footer, so the truncated
file is not a readable Parquet file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any, Final, cast

import pyarrow as pa
import pyarrow.parquet as pq

from worker.encoders.chunking import MAX_CHUNK

ROW_GROUP_ROWS = 65_536
# Measured on the 2M-row benchmark file (~650 bytes a row, so ~25k-row groups), frugal profile: full exports peak
# 40-70 MB lower than with 64 MiB (261-280 MB against 312-335 MB) and took no longer; the file is 2% larger.
ROW_GROUP_BYTES = 16 * 1024 * 1024
COMPRESSION: Final = "zstd"
# The writer's own default (``write_batch_size``), named so the chunks it is given can be aligned to it.
WRITE_BATCH_ROWS = 1024
_concat_batches: Any = pa.concat_batches  # type: ignore[attr-defined]  # pyarrow >= 19; not in the stubs


class _Sink:
    """A write-only file object that keeps what was written until :meth:`drain` takes it."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._position = 0
        self.closed = False

    def write(self, data: bytes | memoryview) -> int:
        self._parts.append(bytes(data))
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        """Nothing to flush: bytes stay in memory until drained."""

    def close(self) -> None:
        self.closed = True

    def drain(self) -> Iterator[bytes]:
        """Yield what was written since the last drain, in chunks of at most ``MAX_CHUNK`` bytes."""
        data = b"".join(self._parts)
        self._parts.clear()
        for start in range(0, len(data), MAX_CHUNK):
            yield data[start : start + MAX_CHUNK]


def encode_parquet(schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> Iterator[bytes]:
    """Stream ``batches`` as one Parquet file with ``schema``; with no rows, a valid file of zero rows.

    >>> import io
    >>> data = b"".join(encode_parquet(pa.schema([("a", pa.int64())]), iter([])))
    >>> pq.read_table(io.BytesIO(data)).num_rows
    0
    """
    iterator = iter(batches)
    first = next(iterator, None)  # pull before writing: an early error comes before the first byte
    sink = _Sink()
    writer = pq.ParquetWriter(
        cast(IO[Any], sink),
        schema,
        compression=COMPRESSION,
        use_dictionary=cast(Any, dictionary_columns(schema)),  # a list of columns (the stubs know only bool)
        write_statistics=True,
        write_batch_size=WRITE_BATCH_ROWS,
    )
    yield from sink.drain()  # the magic number: a first byte as soon as the first batch arrived
    groups = _RowGroups(schema)
    for batch in _chain(first, iterator):
        for group in groups.add(batch):
            writer.write_table(group, row_group_size=group.num_rows)
            yield from sink.drain()
    last = groups.rest()
    if last is not None:
        writer.write_table(last, row_group_size=last.num_rows)
    writer.close()
    yield from sink.drain()


def dictionary_columns(schema: pa.Schema) -> list[str]:
    """The columns written with Parquet's dictionary encoding: those whose Arrow values are dictionaries already
    (read back as the same dictionaries). Every other column is written plain: the writer would otherwise build a
    dictionary for every column chunk and, for long distinct text (geometries), throw it away; zstd compresses the
    repeats of a plain low-cardinality column as well (2M-row benchmark file, full export: 385 → 368 MB, sorted
    file two at once 7.3 → 6.7 s, unsorted 6.9 → 5.7 s; docs/performance.md).

    >>> dictionary_columns(pa.schema([("a", pa.string()), ("b", pa.dictionary(pa.int32(), pa.string()))]))
    ['b']
    """
    return [field.name for field in schema if pa.types.is_dictionary(field.type)]


class _RowGroups:
    """Cuts the rows into row groups at the same rows however they are batched (see the module doc): in pieces of
    :data:`WRITE_BATCH_ROWS` rows counted from the first, a group ending at the piece that brings it to
    ``ROW_GROUP_ROWS`` rows or ``ROW_GROUP_BYTES`` of Arrow data (a slice's ``nbytes`` counts its own values only).
    A group holds slices of the batches, as few as it can; a piece straddling two batches is joined (a copy of
    fewer than WRITE_BATCH_ROWS rows), and the rest of a batch a group ended inside goes on as a copy, so that batch
    is freed once the group is written (kept whole by slices, it cost the Lambda zip's full Parquet exports 25-45 MB
    of peak; with the copy, 5-15 MB more than cutting only between batches, which is not deterministic)."""

    def __init__(self, schema: pa.Schema) -> None:
        self._schema = schema
        self._pieces: list[pa.RecordBatch] = []
        self._rows = 0
        self._bytes = 0
        self._carry: pa.RecordBatch | None = None  # under WRITE_BATCH_ROWS rows, waiting for the next batch
        self._dictionaries = bool(dictionary_columns(schema))

    def add(self, batch: pa.RecordBatch) -> Iterator[pa.Table]:
        """Take ``batch``; yield each row group it completes."""
        if self._carry is not None:
            head = batch.slice(0, WRITE_BATCH_ROWS - self._carry.num_rows)
            batch = batch.slice(head.num_rows)
            self._carry = _concat_batches([self._carry, head])
            if self._carry.num_rows < WRITE_BATCH_ROWS:
                return
            piece, self._carry = self._carry, None
            yield from self._add_run(piece)
        whole = batch.num_rows // WRITE_BATCH_ROWS * WRITE_BATCH_ROWS
        if whole:
            yield from self._add_run(batch.slice(0, whole))
        if whole < batch.num_rows:
            self._carry = batch.slice(whole)

    def rest(self) -> pa.Table | None:
        """The last, partial row group; None if there is none."""
        if self._carry is not None:
            self._pieces.append(self._carry)
            self._rows += self._carry.num_rows
            self._carry = None
        return self._take() if self._pieces else None

    def _add_run(self, run: pa.RecordBatch) -> Iterator[pa.Table]:
        """Add whole pieces of rows (a multiple of WRITE_BATCH_ROWS) as few chunks as the row groups allow."""
        start = 0
        for end in range(WRITE_BATCH_ROWS, run.num_rows + 1, WRITE_BATCH_ROWS):
            self._rows += WRITE_BATCH_ROWS
            piece = run.slice(end - WRITE_BATCH_ROWS, WRITE_BATCH_ROWS)
            self._bytes += _piece_bytes(piece) if self._dictionaries else piece.nbytes
            if self._rows >= ROW_GROUP_ROWS or self._bytes >= ROW_GROUP_BYTES:
                self._pieces.append(run.slice(start, end - start))
                start = end
                yield self._take()
        if start < run.num_rows:
            rest = run.slice(start)
            # Cut inside this batch: its rest goes on as a copy, so the batch is freed with the group written.
            self._pieces.append(_concat_batches([rest]) if start else rest)

    def _take(self) -> pa.Table:
        group = pa.Table.from_batches(self._pieces, self._schema)
        self._pieces, self._rows, self._bytes = [], 0, 0
        return group


def _piece_bytes(piece: pa.RecordBatch) -> int:
    """A piece's Arrow bytes, a dictionary column's counted by its indices: its dictionary can be shared by a whole
    row group, or not, depending on the decoder, and the count must depend on the rows alone."""
    total = 0
    for column in piece.columns:
        dictionary = pa.types.is_dictionary(column.type)
        total += cast("pa.DictionaryArray[Any, Any]", column).indices.nbytes if dictionary else column.nbytes
    return total


def _chain(first: pa.RecordBatch | None, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    if first is not None:
        yield first
        yield from rest
