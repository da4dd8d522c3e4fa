"""Arrow values → text, one column at a time: the type dialect shared by the CSV and JSON encoders.

Every function takes an Arrow array and returns a ``large_string`` array of the same length with nulls where
the input had nulls; callers decide what a null becomes. Scalar types are converted with vectorised
``pyarrow.compute`` kernels; nested and binary values go through Python, value by value (they are rare in
the datasets served, and correctness matters more than speed there). The dialect is in docs/formats.md.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from worker.encoders.chunking import TEXT, Column, choose, concat

_INTEGRAL = r"^-?[0-9]+$"


def decode(array: Column) -> Column:
    """Dictionary-encoded and extension arrays as plain arrays of their value type."""
    if isinstance(array, pa.DictionaryArray):
        return decode(array.dictionary_decode())
    if isinstance(array, pa.ExtensionArray):
        return decode(array.storage)
    return array


def is_nested(type_: pa.DataType) -> bool:
    """True for lists, structs, maps and unions: the types written as JSON text (CSV) or JSON values."""
    return pa.types.is_nested(type_)


def is_binary(type_: pa.DataType) -> bool:
    """True for binary types, written as standard base64 text."""
    return pa.types.is_binary(type_) or pa.types.is_large_binary(type_) or pa.types.is_fixed_size_binary(type_)


def float_text(array: Column) -> Column:
    """Shortest round-trip text; integral values keep a ``.0``; non-finite values are ``nan``, ``inf``, ``-inf``.

    >>> float_text(pa.array([1.0, 0.1, 1e20, float("nan")])).to_pylist()
    ['1.0', '0.1', '1e+20', 'nan']
    """
    text = pc.cast(array, TEXT)
    integral = pc.match_substring_regex(text, _INTEGRAL)
    if pc.any(integral).as_py():
        text = choose(integral, concat(text, ".0"), text)
    return text


def temporal_text(array: Column) -> Column:
    """ISO 8601: dates ``YYYY-MM-DD``; timestamps with ``T``, the unit's fraction digits, ``Z`` when
    time-zone aware (converted to UTC); times ``HH:MM:SS[.fff…]``; durations as integer counts of the unit.

    >>> temporal_text(pa.array([dt.datetime(2024, 1, 2, 3, 4, 5)], pa.timestamp("s", "Europe/London"))).to_pylist()
    ['2024-01-02T03:04:05Z']
    """
    type_ = array.type
    if pa.types.is_timestamp(type_):
        aware = type_.tz is not None
        # Arrow stores instants in UTC: dropping the zone keeps the UTC wall time.
        text = pc.cast(array.cast(pa.timestamp(type_.unit)), TEXT)
        text = pc.replace_substring(text, " ", "T", max_replacements=1)
        return concat(text, "Z") if aware else text
    if pa.types.is_duration(type_):
        return pc.cast(array.cast(pa.int64()), TEXT)
    return pc.cast(array, TEXT)


def is_temporal(type_: pa.DataType) -> bool:
    """True for dates, times, timestamps and durations."""
    return pa.types.is_temporal(type_)


def base64_text(array: Column) -> Column:
    """Standard base64 (RFC 4648, with padding) of each binary value."""
    values = [None if v is None else base64.b64encode(v).decode("ascii") for v in array.to_pylist()]
    return pa.array(values, TEXT)


def nested_text(array: Column) -> Column:
    """Compact JSON text of each nested value (lists → arrays, structs and maps → objects).

    >>> nested_text(pa.array([[1, None], None])).to_pylist()
    ['[1,null]', None]
    """
    values = [None if v is None else python_json(v) for v in array.to_pylist()]
    return pa.array(values, TEXT)


def python_json(value: Any) -> str:
    """Compact JSON text of a Python value from ``to_pylist``, in the dialect of the vectorised paths.

    >>> python_json({"a": [decimal.Decimal("1.50"), float("nan")], "b": dt.date(2024, 1, 2)})
    '{"a":[1.50,null],"b":"2024-01-02"}'
    """
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _write(value: Any, out: list[str]) -> None:
    if isinstance(value, dict):
        value = list(value.items())
        is_object = True
    else:
        # Maps come back from to_pylist as lists of (key, value) tuples: write them as objects.
        is_object = isinstance(value, list) and bool(value) and all(isinstance(i, tuple) for i in value)
    if is_object:
        out.append("{")
        for index, (key, item) in enumerate(value):
            out.append(("," if index else "") + _string(str(key)) + ":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, list):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        out.append(_scalar(value))


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _scalar(value: Any) -> str:  # noqa: PLR0911  # one branch per Python type Arrow produces
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "null"
    if isinstance(value, decimal.Decimal):
        return format(value, "f") if value.is_finite() else "null"
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return _string(value.astimezone(dt.UTC).replace(tzinfo=None).isoformat() + "Z")
    if isinstance(value, dt.date | dt.time):
        return _string(value.isoformat())
    if isinstance(value, dt.timedelta):
        return str(value // dt.timedelta(microseconds=1))
    if isinstance(value, bytes):
        return _string(base64.b64encode(value).decode("ascii"))
    return _string(str(value))
