"""Tests for worker/pruning.py: a row group is skipped only when its statistics rule out every filter value."""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from worker.pruning import kept_row_groups, row_group_all_match


def metadata(table: pa.Table, **options: Any) -> pq.FileMetaData:
    sink = io.BytesIO()
    pq.write_table(table, sink, **options)
    return pq.ParquetFile(pa.BufferReader(sink.getvalue())).metadata


def first_row_group(table: pa.Table, **options: Any) -> pq.RowGroupMetaData:
    return metadata(table, **options).row_group(0)


def keeps(file: pq.FileMetaData, filters: list[tuple[str, pa.Array[Any]]]) -> bool:
    """Whether pruning keeps a one-row-group file's row group."""
    return kept_row_groups(file, filters) == [0]


def values(items: list[Any], kind: pa.DataType) -> list[tuple[str, pa.Array[Any]]]:
    return [("x", pa.array(items, kind))]


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        pytest.param([12], True, id="inside"),
        pytest.param([5], True, id="lower-bound"),
        pytest.param([20], True, id="upper-bound"),
        pytest.param([4, 21], False, id="outside-both-sides"),
        pytest.param([1, 15], True, id="one-of-two-inside"),
    ],
)
def test_integer_range(items: list[int], expected: bool) -> None:
    file = metadata(pa.table({"x": pa.array([10, 5, 20], pa.int64())}))
    assert keeps(file, values(items, pa.int64())) is expected


def test_string_range() -> None:
    file = metadata(pa.table({"x": ["CA-0002", "CA-0009"]}))
    assert keeps(file, values(["CA-0005"], pa.string()))
    assert not keeps(file, values(["CA-0010", "CA-0001"], pa.string()))


def test_all_null_column_never_matches() -> None:
    file = metadata(pa.table({"x": pa.array([None, None], pa.int64())}))
    assert not keeps(file, values([1], pa.int64()))


def test_nan_never_prunes() -> None:
    file = metadata(pa.table({"x": [1.0, 2.0]}))
    assert keeps(file, values([float("nan")], pa.float64()))
    assert not keeps(file, values([3.0], pa.float64()))


def test_without_statistics_nothing_is_pruned() -> None:
    file = metadata(pa.table({"x": [1, 2]}), write_statistics=False)
    assert keeps(file, values([100], pa.int64()))


def test_incomparable_statistics_keep_the_row_group() -> None:
    file = metadata(pa.table({"x": ["a", "b"]}))
    assert keeps(file, values([5], pa.int64()))


def test_every_filter_column_must_allow_a_match() -> None:
    file = metadata(pa.table({"x": [1, 2], "y": ["a", "b"]}))
    assert not keeps(file, [("x", pa.array([1])), ("y", pa.array(["z"]))])
    assert keeps(file, [("x", pa.array([1])), ("y", pa.array(["b"]))])


def test_kept_row_groups_finds_each_filter_column_among_several() -> None:
    table = pa.table({"name": list("abcdef"), "x": [1, 2, 3, 4, 5, 6], "y": ["p", "p", "q", "q", "q", "r"]})
    file = metadata(table, row_group_size=2)
    filters: list[tuple[str, pa.Array[Any]]] = [("x", pa.array([3, 6])), ("y", pa.array(["q"]))]
    assert kept_row_groups(file, filters) == [1, 2]
    assert kept_row_groups(file, filters[1:]) == [1, 2]
    assert kept_row_groups(file, [("x", pa.array([1]))]) == [0]
    assert kept_row_groups(file, []) == [0, 1, 2]


def test_empty_row_group_is_pruned() -> None:
    file = metadata(pa.table({"x": pa.array([], pa.int64())}))
    assert file.num_row_groups == 1  # one row group, of no rows
    assert not keeps(file, [])


@pytest.mark.parametrize(
    ("column", "items", "expected"),
    [
        pytest.param(pa.array([7, 7, 7], pa.int64()), [7], True, id="one-value-in-the-filter"),
        pytest.param(pa.array([7, 7, 7], pa.int64()), [6, 7], True, id="one-of-the-filter-values"),
        pytest.param(pa.array([7, 8, 7], pa.int64()), [7, 8], False, id="a-range"),
        pytest.param(pa.array([7, None, 7], pa.int64()), [7], False, id="a-null"),
        pytest.param(pa.array([7, 7, 7], pa.int64()), [8], False, id="another-value"),
        pytest.param(pa.array(["a", "a", "a"]), ["a"], False, id="strings-may-be-truncated"),
    ],
)
def test_all_match_only_when_the_statistics_prove_it(column: pa.Array[Any], items: list[Any], expected: bool) -> None:
    row_group = first_row_group(pa.table({"x": column}))
    assert row_group_all_match(row_group, values(items, column.type)) is expected


def test_all_match_needs_a_filter() -> None:
    assert not row_group_all_match(first_row_group(pa.table({"x": pa.array([7], pa.int64())})), [])
