"""Tests for worker/pruning.py: a row group is skipped only when its statistics rule out every filter value."""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from worker.pruning import kept_row_groups, row_group_all_match, row_group_may_match


def first_row_group(table: pa.Table, **options: Any) -> pq.RowGroupMetaData:
    sink = io.BytesIO()
    pq.write_table(table, sink, **options)
    return pq.ParquetFile(pa.BufferReader(sink.getvalue())).metadata.row_group(0)


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
    row_group = first_row_group(pa.table({"x": pa.array([10, 5, 20], pa.int64())}))
    assert row_group_may_match(row_group, values(items, pa.int64())) is expected


def test_string_range() -> None:
    row_group = first_row_group(pa.table({"x": ["CA-0002", "CA-0009"]}))
    assert row_group_may_match(row_group, values(["CA-0005"], pa.string()))
    assert not row_group_may_match(row_group, values(["CA-0010", "CA-0001"], pa.string()))


def test_all_null_column_never_matches() -> None:
    row_group = first_row_group(pa.table({"x": pa.array([None, None], pa.int64())}))
    assert not row_group_may_match(row_group, values([1], pa.int64()))


def test_nan_never_prunes() -> None:
    row_group = first_row_group(pa.table({"x": [1.0, 2.0]}))
    assert row_group_may_match(row_group, values([float("nan")], pa.float64()))
    assert not row_group_may_match(row_group, values([3.0], pa.float64()))


def test_without_statistics_nothing_is_pruned() -> None:
    row_group = first_row_group(pa.table({"x": [1, 2]}), write_statistics=False)
    assert row_group_may_match(row_group, values([100], pa.int64()))


def test_incomparable_statistics_keep_the_row_group() -> None:
    row_group = first_row_group(pa.table({"x": ["a", "b"]}))
    assert row_group_may_match(row_group, values([5], pa.int64()))


def test_every_filter_column_must_allow_a_match() -> None:
    row_group = first_row_group(pa.table({"x": [1, 2], "y": ["a", "b"]}))
    assert not row_group_may_match(row_group, [("x", pa.array([1])), ("y", pa.array(["z"]))])
    assert row_group_may_match(row_group, [("x", pa.array([1])), ("y", pa.array(["b"]))])


def test_kept_row_groups_finds_each_filter_column_among_several() -> None:
    table = pa.table({"name": list("abcdef"), "x": [1, 2, 3, 4, 5, 6], "y": ["p", "p", "q", "q", "q", "r"]})
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=2)
    metadata = pq.ParquetFile(pa.BufferReader(sink.getvalue())).metadata
    filters: list[tuple[str, pa.Array[Any]]] = [("x", pa.array([3, 6])), ("y", pa.array(["q"]))]
    assert kept_row_groups(metadata, filters) == [1, 2]
    assert kept_row_groups(metadata, filters[1:]) == [1, 2]
    assert kept_row_groups(metadata, [("x", pa.array([1]))]) == [0]
    assert kept_row_groups(metadata, []) == [0, 1, 2]
    for kept in (filters, filters[1:], []):
        expected = [i for i in range(3) if row_group_may_match(metadata.row_group(i), kept)]
        assert kept_row_groups(metadata, kept) == expected


def test_empty_row_group_is_pruned() -> None:
    row_group = first_row_group(pa.table({"x": pa.array([], pa.int64())}))
    assert not row_group_may_match(row_group, [])


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
