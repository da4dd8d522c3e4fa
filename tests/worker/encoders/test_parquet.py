"""Parquet: one valid file (zstd, bounded row groups, the schema as given), deterministic, no footer on error."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.worker.encoders.conftest import all_types_batch, batch_of, collect_until_error, failing, schema_of
from worker.encoders.parquet import ROW_GROUP_BYTES, ROW_GROUP_ROWS, encode_parquet


def numbers(start: int, stop: int) -> pa.RecordBatch:
    return batch_of({"n": pa.array(range(start, stop), pa.int64()), "s": [str(i) for i in range(start, stop)]})


def test_round_trip_keeps_schema_and_values() -> None:
    # Parquet has no seconds unit: timestamp[s] is stored as milliseconds (checked below), so leave it out here.
    batch = all_types_batch().drop_columns(["tstz"])
    data = b"".join(encode_parquet(batch.schema, iter([batch])))
    table = pq.read_table(io.BytesIO(data))
    assert table.schema.equals(batch.schema)
    assert repr(table.to_pylist()) == repr(batch.to_pylist())  # repr: NaN equals NaN


def test_second_timestamps_become_milliseconds() -> None:
    batch = all_types_batch().select(["tstz"])
    table = pq.read_table(io.BytesIO(b"".join(encode_parquet(batch.schema, iter([batch])))))
    assert table.schema.field("tstz").type == pa.timestamp("ms", "UTC")
    assert table.column("tstz").to_pylist() == batch.column("tstz").to_pylist()


def test_zstd_and_bounded_row_groups() -> None:
    batches = [numbers(i * 30_000, (i + 1) * 30_000) for i in range(5)]
    data = b"".join(encode_parquet(batches[0].schema, iter(batches)))
    meta = pq.ParquetFile(io.BytesIO(data)).metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert sizes == [ROW_GROUP_ROWS, ROW_GROUP_ROWS, 150_000 - 2 * ROW_GROUP_ROWS]
    assert meta.row_group(0).column(0).compression == "ZSTD"
    statistics = meta.row_group(0).column(0).statistics
    assert statistics is not None
    assert statistics.has_min_max


def test_wide_rows_close_a_row_group_at_the_byte_bound() -> None:
    # 2 KiB a row: 16 MiB of Arrow data is 8,192 rows, well before ROW_GROUP_ROWS. The writer holds one row group
    # (and its encoded bytes) at a time, so this bound is what a full Parquet export of wide rows costs in memory.
    wide = "x" * 2048
    batches = [
        batch_of({"n": pa.array(range(i, i + 4096), pa.int64()), "s": [wide] * 4096}) for i in range(0, 40_960, 4096)
    ]
    data = b"".join(encode_parquet(batches[0].schema, iter(batches)))
    meta = pq.ParquetFile(io.BytesIO(data)).metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert sum(sizes) == 40_960
    per_row = batches[0].nbytes / batches[0].num_rows
    assert max(sizes) * per_row <= ROW_GROUP_BYTES + batches[0].nbytes  # at most one batch past the bound
    assert max(sizes) < ROW_GROUP_ROWS
    assert pq.read_table(io.BytesIO(data)).column("n").to_pylist() == list(range(40_960))


def test_deterministic_bytes() -> None:
    batches = [numbers(0, 1000), numbers(1000, 5000)]
    first = b"".join(encode_parquet(batches[0].schema, iter(batches)))
    assert first == b"".join(encode_parquet(batches[0].schema, iter(batches)))


def _rows() -> pa.Table:
    """Rows wide enough for the byte bound to end row groups (~1 KiB, varying), with a dictionary column."""
    count = 40_000
    text = pa.array([("x" * (row % 2000)) + str(row) for row in range(count)])
    kind = pa.array([f"kind {row % 7}" for row in range(count)]).dictionary_encode()
    return pa.table({"n": pa.array(range(count), pa.int64()), "s": text, "kind": kind})


ROWS = _rows()


def _batched(cuts: list[int]) -> list[pa.RecordBatch]:
    """``ROWS`` cut at ``cuts``, each piece a batch of its own buffers (as a decoder makes them)."""
    edges = [0, *sorted(set(cuts)), ROWS.num_rows]
    return [ROWS.slice(a, b - a).combine_chunks().to_batches()[0] for a, b in itertools.pairwise(edges) if b > a]


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1, ROWS.num_rows - 1), max_size=40))
def test_the_bytes_depend_on_the_rows_not_on_how_they_were_batched(cuts: list[int]) -> None:
    # DuckDB's batches differ from pyarrow's, and each profile's from the other's: the same download must be the same
    # file whichever produced it (docs/formats.md; a stored result's name never changes content).
    whole = b"".join(encode_parquet(ROWS.schema, iter(_batched([]))))
    assert b"".join(encode_parquet(ROWS.schema, iter(_batched(cuts)))) == whole
    meta = pq.ParquetFile(io.BytesIO(whole)).metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert len(sizes) > 1  # the byte bound cut it: the cuts were tested against it
    assert max(sizes) < ROW_GROUP_ROWS
    assert pq.read_table(io.BytesIO(whole)).equals(ROWS)


def test_only_dictionary_columns_are_dictionary_encoded() -> None:
    kinds = pa.array(["a", "b", "a", "b"]).dictionary_encode()
    batch = pa.record_batch([pa.array([1, 2, 1, 2]), pa.array(["x", "y", "x", "y"]), kinds], names=["n", "s", "kind"])
    data = b"".join(encode_parquet(batch.schema, iter([batch])))
    group = pq.ParquetFile(io.BytesIO(data)).metadata.row_group(0)
    dictionary = {group.column(i).path_in_schema: "RLE_DICTIONARY" in group.column(i).encodings for i in range(3)}
    assert dictionary == {"n": False, "s": False, "kind": True}
    assert pq.read_table(io.BytesIO(data)).equals(pa.Table.from_batches([batch]))


def test_empty_result_is_a_valid_file_with_the_schema() -> None:
    schema = schema_of([("entity", pa.int64()), ("name", pa.string())])
    data = b"".join(encode_parquet(schema, iter([])))
    table = pq.read_table(io.BytesIO(data))
    assert table.num_rows == 0
    assert table.schema.equals(schema)


def test_duckdb_reads_it(tmp_path: Path) -> None:
    batch = numbers(0, 100)
    path = f"{tmp_path}/out.parquet"
    with open(path, "wb") as file:
        file.writelines(encode_parquet(batch.schema, iter([batch])))
    assert duckdb.execute(f"select count(*), sum(n) from '{path}'").fetchall() == [(100, 4950)]


def test_first_chunk_comes_after_the_first_batch_and_is_the_magic() -> None:
    chunks = encode_parquet(numbers(0, 1).schema, iter([numbers(0, 10)]))
    assert next(chunks) == b"PAR1"


def test_a_failing_source_leaves_no_footer() -> None:
    batches = [numbers(i * 40_000, (i + 1) * 40_000) for i in range(2)]
    partial = collect_until_error(encode_parquet(batches[0].schema, failing(batches)))
    assert partial.startswith(b"PAR1")
    assert len(partial) > 4  # a row group was already streamed
    with pytest.raises(pa.ArrowInvalid):
        pq.read_table(io.BytesIO(partial))


def test_a_source_failing_at_once_yields_nothing() -> None:
    assert collect_until_error(encode_parquet(numbers(0, 1).schema, failing([]))) == b""
