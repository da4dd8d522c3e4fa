"""JSON: one array of objects, one object per line (``[\\n{…},\\n{…}\\n]``); empty result ``[]``.

Also the shared row builder of the NDJSON and GeoJSON encoders: every column becomes JSON text with
vectorised kernels (strings escaped, numbers bare, temporal values as ISO 8601 strings), then each row's
object is assembled by one concatenation kernel with the keys as constants. Keys follow the schema order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from worker.encoders import cells
from worker.encoders.chunking import TEXT, Column, Text, choose, concat, present_bytes, stream_rows, text_view

# Escapes a vectorised replace handles; any other control character sends its rows through json.dumps.
_SIMPLE_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))
_OTHER_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"
_SPECIAL = bytes(range(0x20)) + b'"\\'
_SIMPLE = {ord(raw) for raw, _ in _SIMPLE_ESCAPES}


def encode_json(schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> Iterator[bytes]:
    """Stream ``batches`` as one JSON array; ``]`` only after the last batch arrived without error.

    >>> b"".join(encode_json(pa.schema([("a", pa.int64())]), iter([pa.record_batch([[1, None]], names=["a"])])))
    b'[\\n{"a":1},\\n{"a":null}\\n]'
    """
    names = schema.names

    def render(batch: pa.RecordBatch) -> Text:
        return text_view(object_rows(names, batch.columns, after=",\n"))

    return stream_rows(batches, render, head=b"[\n", separator=b",\n", tail=b"\n]", empty=b"[]")


def object_rows(names: Sequence[str], columns: Sequence[Column], after: str = "") -> Column:
    """One compact JSON object per row, keys in the given order, followed by ``after`` (in the same copy: a
    separate concatenation would copy every row's text again).

    >>> object_rows(["a", "b"], [pa.array([1]), pa.array(["x"])], after="\\n").to_pylist()
    ['{"a":1,"b":"x"}\\n']
    """
    return concat(*object_members(names, columns), "}" + after, null="")


def object_members(names: Sequence[str], columns: Sequence[Column]) -> list[Column | str]:
    """The parts of each row's object up to, not including, its closing ``}``: concatenated with nulls as empty
    text (``concat(..., null="")``), they give ``{"a":1,"b":"x"`` (``{`` alone for no columns), so a caller can
    append members of its own.

    >>> parts = object_members(["a", "b"], [pa.array([1, None]), pa.array(["x", None])])
    >>> concat(*parts, "}", null="").to_pylist()
    ['{"a":1,"b":"x"}', '{"a":null,"b":null}']
    """
    parts: list[Column | str] = ["{"]
    for index, (name, column) in enumerate(zip(names, columns, strict=True)):
        key = ("," if index else "") + json.dumps(name, ensure_ascii=False) + ":"
        values, self_quoted = _member_values(column)
        # Quotes a string's values leave to the constants around them (concat merges those): one copy fewer.
        opening, closing = (key, "") if self_quoted else (key + '"', '"')
        if values.null_count:
            # A null value is empty text after a key that says null: no copy of the values to fill them in.
            valid = pc.is_valid(values)
            parts += [choose(valid, opening, key + "null"), values]
            if closing:
                parts.append(choose(valid, closing, ""))
        else:
            parts += [opening, values, closing]
    return parts


def _member_values(array: Column) -> tuple[Column, bool]:
    """A column's values as JSON for an object's members (nulls where the value is ``null``), and whether they
    carry their own quotes: dates and times, and strings without control characters outside ``_SIMPLE_ESCAPES``,
    leave them to the text around them.
    """
    array = cells.decode(array)
    if cells.is_temporal(array.type) and not pa.types.is_duration(array.type):
        return cells.temporal_text(array), False  # ISO 8601 text needs no escapes
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return json_values(array), True
    text = pc.cast(array, TEXT)
    escaped, some_rare = _escaped(text)
    if not some_rare:
        return escaped, False
    return _quoted(text, escaped, some_rare), True


def json_values(array: Column) -> Column:  # noqa: PLR0911  # one branch per type family
    """Each value of ``array`` as JSON text; nulls (and NaN, ±Infinity) as nulls.

    >>> json_values(pa.array([1.5, float("inf"), None])).to_pylist()
    ['1.5', None, None]
    """
    array = cells.decode(array)
    type_ = array.type
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return json_strings(pc.cast(array, TEXT))
    if pa.types.is_floating(type_):
        return choose(pc.is_finite(array), cells.float_text(array), pa.nulls(len(array), TEXT))
    if cells.is_temporal(type_) and not pa.types.is_duration(type_):
        return concat('"', cells.temporal_text(array), '"')
    if cells.is_binary(type_):
        return concat('"', cells.base64_text(array), '"')
    if cells.is_nested(type_):
        return cells.nested_text(array)
    if pa.types.is_null(type_):
        return pa.nulls(len(array), TEXT)
    # Integers (exact digits, also beyond 2**53), decimals (exact), booleans, durations: bare JSON literals.
    return cells.temporal_text(array) if pa.types.is_duration(type_) else pc.cast(array, TEXT)


def json_strings(text: Column) -> Column:
    """``large_string`` values as JSON string literals (RFC 8259 escaping, UTF-8 kept as is).

    >>> json_strings(pa.array(['a"b\\n', None], TEXT)).to_pylist()
    ['"a\\\\"b\\\\n"', None]
    """
    return _quoted(text, *_escaped(text))


def _quoted(text: Column, escaped: Column, some_rare: bool) -> Column:
    """``escaped`` in quotes; rows of ``text`` holding another control character through ``json.dumps``."""
    quoted = concat('"', escaped, '"')
    if not some_rare:
        return quoted
    rare = pc.match_substring_regex(text, _OTHER_CONTROL)
    fixed = [json.dumps(value, ensure_ascii=False) if value is not None else None for value in text.to_pylist()]
    return choose(rare, pa.array(fixed, TEXT), quoted)


def _escaped(text: Column) -> tuple[Column, bool]:
    """``text`` with the simple escapes applied, and whether some value holds another control character (whose
    row needs ``json.dumps``)."""
    special = present_bytes(text, _SPECIAL)
    escaped = text
    for raw, escape in _SIMPLE_ESCAPES:
        if ord(raw) in special:
            escaped = pc.replace_substring(escaped, raw, escape)
    return escaped, bool(special - _SIMPLE)
