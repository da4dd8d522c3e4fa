"""JSON: the dialect byte for byte, read back by json.loads (and pandas); never closed after an error."""

from __future__ import annotations

import decimal
import io
import json

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.worker.encoders.conftest import all_types_batch, batch_of, collect_until_error, failing, schema_of
from worker.encoders.json import encode_json, json_strings, json_values, object_rows

ALL_TYPES = (
    b'[\n{"int":1,"float":1.0,"inf":null,"bool":true,"text":"say \\"hi\\", then go","date":"2024-01-31",'
    b'"ts":"2024-01-02T03:04:05.600","tstz":"2024-01-02T03:04:05Z","dec":12345678901234567890.12,"list":[1,2],'
    b'"struct":{"a":1,"b":"x"},"bin":"AP8=","dict":"red"},\n'
    b'{"int":null,"float":null,"inf":null,"bool":false,"text":"","date":null,"ts":null,"tstz":null,"dec":null,'
    b'"list":null,"struct":null,"bin":null,"dict":"blue"},\n'
    b'{"int":9223372036854775807,"float":0.1,"inf":null,"bool":null,"text":null,"date":"0001-01-01","ts":null,'
    b'"tstz":null,"dec":-0.50,"list":[],"struct":{"a":null,"b":"q\\""},"bin":"","dict":null}\n]'
)


def encode(batches: list[pa.RecordBatch]) -> bytes:
    return b"".join(encode_json(batches[0].schema, iter(batches)))


def test_every_type_in_the_dialect() -> None:
    assert encode([all_types_batch()]) == ALL_TYPES


def test_read_back_by_json_loads() -> None:
    rows = json.loads(ALL_TYPES, parse_float=decimal.Decimal)
    assert list(rows[0]) == all_types_batch().schema.names  # keys in schema order
    assert rows[2]["int"] == 2**63 - 1  # exact beyond 2**53
    assert rows[0]["dec"] == decimal.Decimal("12345678901234567890.12")
    assert isinstance(rows[0]["float"], decimal.Decimal)  # written 1.0: a float stays a float
    assert rows[1]["float"] is None  # NaN
    assert rows[0]["text"] == 'say "hi", then go'


def test_read_back_by_pandas() -> None:
    frame = pd.read_json(io.BytesIO(ALL_TYPES), orient="records", dtype=False)
    assert frame.shape == (3, 13)


def test_empty_result_is_an_empty_array() -> None:
    schema = schema_of([("a", pa.int64())])
    assert b"".join(encode_json(schema, iter([]))) == b"[]"
    zero = batch_of([pa.array([], pa.int64())], schema=schema)
    assert b"".join(encode_json(schema, iter([zero]))) == b"[]"


def test_one_row_and_many_batches() -> None:
    one = batch_of({"a": [1]})
    assert encode([one]) == b'[\n{"a":1}\n]'
    batches = [batch_of({"a": pa.array(range(i * 700, (i + 1) * 700), pa.int64())}) for i in range(4)]
    assert json.loads(encode(batches)) == [{"a": n} for n in range(2800)]


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        pytest.param('a"b', '"a\\"b"', id="quote"),
        pytest.param("a\\b", '"a\\\\b"', id="backslash"),
        pytest.param("a\nb\r\t", '"a\\nb\\r\\t"', id="common-controls"),
        pytest.param("\x00\x1f", '"\\u0000\\u001f"', id="other-controls"),
        pytest.param("é\u2028✓", '"é\u2028✓"', id="utf-8-as-is"),
    ],
)
def test_strings_are_escaped(value: str, literal: str) -> None:
    assert json_strings(pa.array([value], pa.large_string())).to_pylist() == [literal]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text()), min_size=1, max_size=10))
def test_any_text_round_trips(values: list[str | None]) -> None:
    rows = object_rows(["v"], [pa.array(values, pa.string())]).to_pylist()
    assert [json.loads(str(row))["v"] for row in rows] == values


def test_column_names_are_escaped() -> None:
    assert object_rows(['a"b'], [pa.array([1])]).to_pylist() == ['{"a\\"b":1}']


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        pytest.param(
            pa.array([2**53 + 1, -(2**63)], pa.int64()), ["9007199254740993", "-9223372036854775808"], id="int64"
        ),
        pytest.param(pa.array([2**64 - 1], pa.uint64()), ["18446744073709551615"], id="uint64"),
        pytest.param(pa.array([1e300, -0.0, 5e-324], pa.float64()), ["1e+300", "-0.0", "5e-324"], id="float-extremes"),
        pytest.param(pa.array([1.5], pa.float32()), ["1.5"], id="float32"),
        pytest.param(pa.array([None], pa.null()), [None], id="null-type"),
        pytest.param(pa.array([{"k": 1.0}], pa.map_(pa.string(), pa.float64())), ['{"k":1.0}'], id="map"),
        pytest.param(pa.array([[float("nan")]], pa.list_(pa.float64())), ["[null]"], id="nested-nan"),
    ],
)
def test_values(array: pa.Array, expected: list[str | None]) -> None:  # type: ignore[type-arg]
    assert json_values(array).to_pylist() == expected


def test_a_failing_source_never_closes_the_array() -> None:
    batch = batch_of({"a": pa.array(range(3), pa.int64())})
    partial = collect_until_error(encode_json(batch.schema, failing([batch, batch])))
    assert partial.startswith(b'[\n{"a":0}')
    assert not partial.rstrip().endswith(b"]")
    with pytest.raises(json.JSONDecodeError):
        json.loads(partial)


def test_a_source_failing_at_once_yields_nothing() -> None:
    schema = schema_of([("a", pa.int64())])
    assert collect_until_error(encode_json(schema, failing([]))) == b""


@given(st.lists(st.tuples(st.text(), st.text(), st.one_of(st.none(), st.text())), min_size=1, max_size=10))
def test_rows_are_what_json_dumps_writes(rows: list[tuple[str, str, str | None]]) -> None:
    # Columns without nulls have their quotes folded into the constants around them; the nullable one does not.
    columns = [pa.array([row[i] for row in rows], pa.string()) for i in range(3)]
    written = object_rows(["a", "b", "c"], columns).to_pylist()
    expected = [
        json.dumps(dict(zip("abc", row, strict=True)), ensure_ascii=False, separators=(",", ":")) for row in rows
    ]
    assert written == expected
