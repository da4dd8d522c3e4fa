"""Fast row rendering for CSV and NDJSON/JSON with polars' multi-threaded writers, in the worker's dialect.

polars writes integers, strings, booleans and dates exactly as docs/formats.md specifies (necessary-only CSV
quoting, an empty string as ``""``, RFC 8259 escapes as ``json.dumps(ensure_ascii=False)``), 3-4x faster than
the vectorised pyarrow encoders. Every other type is first turned into its dialect text by the pyarrow code
(floats, timestamps, binary… as strings), so polars only copies and quotes it. Where that cannot give the
same JSON (floats, decimals and nested values are bare JSON, and polars' float text differs in form) the
renderer is ``None`` and the caller keeps its pyarrow path. Golden and property tests hold both paths to the
same bytes (tests/worker/encoders/test_frames.py). Without polars installed every renderer is ``None``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from worker.encoders import cells

pl: Any
try:
    import polars as pl
except ImportError:  # pragma: no cover - polars is optional: the pyarrow encoders are complete on their own
    pl = None

# Tests turn this off to compare the polars path with the pyarrow one.
ENABLED = pl is not None

# polars' writers have a fixed cost per call and use several threads only on big inputs: render bigger slices
# than the pyarrow path (measured on 2M rows: 1 MiB 4.1 s, 4 MiB 3.9 s, 16 MiB 2.7 s but +80 MB RSS).
SLICE_BYTES = 4 * 1024 * 1024
# polars' CSV writer splits a big frame across its own threads (its NDJSON writer does not, so NDJSON and JSON get
# theirs from rendering slices side by side: worker/encoders/chunking.py): CSV is rendered a batch at a time.
# Fresh processes, A/B alternating, three each, 2026-11-27, two at once: sorted full CSV 2.87 -> 2.72 s, unsorted
# 3.29 -> 3.02 s, sorted 10pct the same, at +10-20 MB of peak; NDJSON in 16 MiB slices was no faster (3.73 -> 3.83 s)
# and 10pct JSON slower (0.42 -> 0.45 s).
CSV_SLICE_BYTES = 16 * 1024 * 1024

Render = Callable[[pa.RecordBatch], bytes]
Convert = Callable[["pa.Array[Any]"], "pa.Array[Any]"]


def _is_native(type_: pa.DataType) -> bool:
    """Types polars writes byte for byte as the dialect does, in CSV and JSON alike."""
    return (
        pa.types.is_integer(type_)
        or pa.types.is_string(type_)
        or pa.types.is_large_string(type_)
        or pa.types.is_boolean(type_)
        or pa.types.is_date32(type_)
    )


def _value_type(type_: pa.DataType) -> pa.DataType:
    while isinstance(type_, pa.DictionaryType | pa.BaseExtensionType):
        type_ = type_.value_type if isinstance(type_, pa.DictionaryType) else type_.storage_type
    return type_


def _json_text(type_: pa.DataType) -> Convert | None:
    """How a column becomes something polars writes as the dialect's JSON value; None if nothing does."""
    if _is_native(type_):
        return cells.decode
    if cells.is_temporal(type_) and not pa.types.is_duration(type_):
        return lambda array: cells.temporal_text(cells.decode(array))  # JSON strings, no escapes needed
    if pa.types.is_duration(type_):
        return lambda array: cells.decode(array).cast(pa.int64())
    if cells.is_binary(type_):
        return lambda array: cells.base64_text(cells.decode(array))
    return None


def _usable(schema: pa.Schema) -> bool:
    # polars frames need distinct, non-empty column names; an output without columns has nothing to write.
    return ENABLED and len(schema) > 0 and len(set(schema.names)) == len(schema) and "" not in schema.names


def _frame(batch: pa.RecordBatch, converts: list[Convert]) -> Any:
    arrays = [convert(column) for convert, column in zip(converts, batch.columns, strict=True)]
    polars: Any = pl  # not None: a renderer exists only when polars imported (see _usable)
    return polars.from_arrow(pa.Table.from_arrays(arrays, names=batch.schema.names), rechunk=False)


def csv_renderer(schema: pa.Schema, csv_text: Convert, null: str) -> Render | None:
    """Rows of a batch as CSV lines (no header), each ending ``\\n``; ``csv_text`` turns a non-native column
    into its unquoted dialect text, ``null`` is what a null field is. None when polars cannot be used.
    """
    if not _usable(schema):
        return None
    converts = [cells.decode if _is_native(_value_type(f.type)) else csv_text for f in schema]

    def render(batch: pa.RecordBatch) -> bytes:
        out = io.BytesIO()
        _frame(batch, converts).write_csv(out, include_header=False, quote_style="necessary", null_value=null)
        return out.getvalue()

    return render


def ndjson_renderer(schema: pa.Schema) -> Render | None:
    """Rows of a batch as compact JSON objects, one per line, each ending ``\\n``; None when some column's
    JSON polars cannot write in the dialect (floats, decimals, nested values) or polars is missing.
    """
    converts = [_json_text(_value_type(f.type)) for f in schema]
    if not _usable(schema) or None in converts:
        return None
    ready = [convert for convert in converts if convert is not None]

    def render(batch: pa.RecordBatch) -> bytes:
        out = io.BytesIO()
        _frame(batch, ready).write_ndjson(out)
        return out.getvalue()

    return render
