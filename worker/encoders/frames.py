"""Fast CSV rendering with polars' multi-threaded CSV writer, in the worker's dialect.

polars writes integers, strings, booleans and dates exactly as docs/formats.md specifies (necessary-only
quoting, an empty string as ``""``), about twice as fast as the vectorised pyarrow encoder. Every other type is
first turned into its dialect text by the pyarrow code (floats, timestamps, binary… as strings), so polars only
copies and quotes it. Golden and property tests hold both paths to the same bytes
(tests/worker/encoders/test_frames.py). Without polars installed the renderer is ``None``.

JSON and NDJSON are rendered by the pyarrow encoders alone: since their null members and quotes stopped costing
copies of the columns they are as fast as polars' NDJSON writer, faster for the JSON array (which polars wrote as
NDJSON, then had its newlines replaced), and peak lower (docs/performance.md).
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

# polars' CSV writer has a fixed cost per call and splits a big frame across its own threads: CSV is rendered a
# batch at a time. Fresh processes, A/B alternating, three each, 2026-11-27, two at once, against 4 MiB slices:
# sorted full CSV 2.87 -> 2.72 s, unsorted 3.29 -> 3.02 s, sorted 10pct the same, at +10-20 MB of peak.
CSV_SLICE_BYTES = 16 * 1024 * 1024

Render = Callable[[pa.RecordBatch], bytes]
Convert = Callable[["pa.Array[Any]"], "pa.Array[Any]"]


def _is_native(type_: pa.DataType) -> bool:
    """Types polars writes byte for byte as the dialect does."""
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
