"""CSV: the dialect byte for byte, and the output read back by the csv module, pandas and DuckDB."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.worker.encoders.conftest import all_types_batch, batch_of, collect_until_error, failing, schema_of
from worker.encoders.csv import csv_cells, encode_csv, quote_text

ALL_TYPES = (
    b"int,float,inf,bool,text,date,ts,tstz,dec,list,struct,bin,dict\n"
    b'1,1.0,inf,true,"say ""hi"", then go",2024-01-31,2024-01-02T03:04:05.600,2024-01-02T03:04:05Z,'
    b'12345678901234567890.12,"[1,2]","{""a"":1,""b"":""x""}",AP8=,red\n'
    b',nan,-inf,false,"",,,,,,,,blue\n'
    b'9223372036854775807,0.1,,,,0001-01-01,,,-0.50,[],"{""a"":null,""b"":""q\\""""}","",\n'
)


def encode(batches: list[pa.RecordBatch], schema: pa.Schema | None = None) -> bytes:
    return b"".join(encode_csv(schema or batches[0].schema, iter(batches)))


def test_every_type_in_the_dialect() -> None:
    assert encode([all_types_batch()]) == ALL_TYPES


def test_read_back_by_the_csv_module() -> None:
    rows = list(csv.reader(io.StringIO(ALL_TYPES.decode(), newline="")))
    assert rows[0][:5] == ["int", "float", "inf", "bool", "text"]
    assert rows[1][4] == 'say "hi", then go'
    assert rows[1][10] == '{"a":1,"b":"x"}'
    assert rows[3][0] == "9223372036854775807"
    assert [len(row) for row in rows] == [13] * 4


def test_read_back_by_pandas() -> None:
    frame = pd.read_csv(io.BytesIO(ALL_TYPES), keep_default_na=False, dtype=str)
    assert frame["text"].tolist() == ['say "hi", then go', "", ""]
    assert frame["int"].tolist() == ["1", "", "9223372036854775807"]
    assert frame["dec"].tolist() == ["12345678901234567890.12", "", "-0.50"]


def test_duckdb_tells_null_from_empty_string(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_bytes(encode([batch_of({"a": ["x", "", None], "b": [1, 2, 3]})]))
    rows = duckdb.execute(f"select a, b from read_csv('{path}', header=true, allow_quoted_nulls=false)").fetchall()
    assert rows == [("x", 1), ("", 2), (None, 3)]


def test_empty_result_is_the_header_row() -> None:
    schema = schema_of([("entity", pa.int64()), ("a,b", pa.string())])
    assert b"".join(encode_csv(schema, iter([]))) == b'entity,"a,b"\n'


def test_zero_row_batches_write_only_the_header() -> None:
    schema = schema_of([("a", pa.int64())])
    empty = batch_of([pa.array([], pa.int64())], schema=schema)
    assert b"".join(encode_csv(schema, iter([empty, empty]))) == b"a\n"


def test_one_column_null_is_not_a_blank_line() -> None:
    out = encode([batch_of({"a": ["x", None, ""]})])
    assert out == b'a\nx\n""\n""\n'
    assert len(list(csv.reader(io.StringIO(out.decode())))) == 4


@pytest.mark.parametrize(
    ("value", "field"),
    [
        pytest.param("plain", "plain", id="plain"),
        pytest.param("a,b", '"a,b"', id="comma"),
        pytest.param('a"b', '"a""b"', id="quote"),
        pytest.param("a\nb", '"a\nb"', id="lf"),
        pytest.param("a\rb", '"a\rb"', id="cr"),
        pytest.param(" padded ", " padded ", id="spaces-kept-unquoted"),
        pytest.param("", '""', id="empty-string"),
        pytest.param("é ✓", "é ✓", id="utf-8"),
    ],
)
def test_quoting_only_where_needed(value: str, field: str) -> None:
    assert csv_cells(pa.array([value])).to_pylist() == [field]
    assert quote_text(value) == field


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=20)), min_size=1, max_size=20))
def test_any_text_round_trips_through_the_csv_module(values: list[str | None]) -> None:
    batch = batch_of({"v": pa.array(values, pa.string()), "n": pa.array(range(len(values)), pa.int64())})
    rows = list(csv.reader(io.StringIO(encode([batch]).decode(), newline="")))
    assert rows[1:] == [[value or "", str(index)] for index, value in enumerate(values)]


def test_many_batches_concatenate_in_order() -> None:
    batches = [batch_of({"n": pa.array(range(i * 1000, (i + 1) * 1000), pa.int64())}) for i in range(5)]
    assert encode(batches) == b"n\n" + b"".join(b"%d\n" % n for n in range(5000))


def test_a_failing_source_propagates_and_writes_no_more_rows() -> None:
    batch = batch_of({"n": pa.array(range(3), pa.int64())})
    partial = collect_until_error(encode_csv(batch.schema, failing([batch])))
    assert encode([batch]).startswith(partial)
