"""CSV (RFC 4180, one dialect for every type; docs/formats.md): a header row, then one line per row.

``,`` separates fields and ``\\n`` ends every line; a field is quoted only when it contains ``,``, ``"``, CR
or LF (embedded quotes doubled), or is an empty string — so an empty field is always a null. Each column is
turned into text with vectorised kernels, then the columns are joined into lines in one kernel call.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any, cast

import pyarrow as pa
import pyarrow.compute as pc

from worker.encoders import cells
from worker.encoders.chunking import (
    TEXT,
    Column,
    Text,
    choose,
    concat,
    fill,
    join,
    present_bytes,
    stream_rows,
    text_view,
)
from worker.encoders.frames import CSV_SLICE_BYTES, csv_renderer


def encode_csv(schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> Iterator[bytes]:
    """Stream ``batches`` as CSV; with no rows, the header row alone.

    >>> b"".join(encode_csv(pa.schema([("a", pa.int64()), ("b", pa.string())]),
    ...     iter([pa.record_batch([[1, None], ["x,y", None]], names=["a", "b"])])))
    b'a,b\\n1,"x,y"\\n,\\n'
    """
    header = ",".join(quote_text(name) for name in schema.names).encode() + b"\n"
    # A one-column row holding a null would be a blank line, which readers skip: write it as "" instead.
    null = '""' if len(schema) == 1 else ""
    fast = csv_renderer(schema, csv_text, null)
    if fast is not None:
        return stream_rows(
            batches, fast, head=header, separator=b"", tail=b"", empty=header, slice_bytes=CSV_SLICE_BYTES
        )

    def render(batch: pa.RecordBatch) -> Text:
        columns = [csv_cells(column) for column in batch.columns]
        if not columns:
            return b""
        # Each row's newline goes on its last field, not on the joined line: one copy of a column, not of the rows.
        columns[-1] = concat(fill(columns[-1], null), "\n")
        return text_view(join(columns, ",", null=null))

    return stream_rows(batches, render, head=header, separator=b"", tail=b"", empty=header)


def csv_cells(array: Column) -> Column:
    """Each value of ``array`` as one CSV field (quoted where needed), nulls kept as nulls.

    >>> csv_cells(pa.array(['a"b', "", None, "c"])).to_pylist()
    ['"a""b"', '""', None, 'c']
    """
    type_ = cells.decode(array).type
    text = csv_text(array)
    # Only text that can hold separators, quotes or be empty is checked: numbers, dates, booleans never need it.
    may_quote = pa.types.is_string(type_) or pa.types.is_large_string(type_) or cells.is_binary(type_)
    return _quote(text) if may_quote or cells.is_nested(type_) else text


def csv_text(array: Column) -> Column:  # noqa: PLR0911  # one branch per type family
    """Each value of ``array`` as its unquoted CSV text (``large_string``), nulls kept as nulls.

    >>> csv_text(pa.array([1.0, None, 1e20])).to_pylist()
    ['1.0', None, '1e+20']
    """
    array = cells.decode(array)
    type_ = array.type
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return pc.cast(array, TEXT)
    if pa.types.is_floating(type_):
        return cells.float_text(array)
    if cells.is_temporal(type_):
        return cells.temporal_text(array)
    if cells.is_binary(type_):
        return cells.base64_text(array)  # quoted only when empty, to tell an empty value from a null
    if cells.is_nested(type_):
        return cells.nested_text(array)
    if pa.types.is_null(type_):
        return pa.nulls(len(array), TEXT)
    # Integers, decimals and booleans: Arrow's text is exact (``true``/``false`` for booleans).
    return pc.cast(array, TEXT)


def _quote(text: Column) -> Column:
    special = present_bytes(text, b',"\r\n')
    empty = _empty(text)
    if not special and empty is None:
        return text
    escaped = pc.replace_substring(text, '"', '""') if ord('"') in special else text
    quoted = concat('"', escaped, '"')
    # One plain substring search per special character the column holds (a regex over every value was slower).
    needs = [pc.match_substring(text, chr(byte)) for byte in sorted(special)]
    mask = functools.reduce(pc.or_, needs if empty is None else [*needs, empty])
    return quoted if pc.all(mask).as_py() else choose(mask, quoted, text)


def _empty(text: Column) -> Column | None:
    """Which values are empty strings; None when none is."""
    lengths: Any = pc.binary_length  # the stubs know only the concrete string array classes
    length = lengths(text)
    if len(text) == 0 or pc.min(length).as_py() != 0:
        return None
    return cast(Column, pc.equal(length, pa.scalar(0, length.type)))


def quote_text(text: str) -> str:
    """One Python string as a CSV field: ``quote_text('a"b')`` → ``'"a""b"'``."""
    if text == "" or any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text
