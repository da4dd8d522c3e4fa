"""dataset_downloads.optimise: the rewrite keeps every row and the schema, sorts, sizes row groups, adds stats."""

from __future__ import annotations

import collections
import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dataset_downloads._rows import row_digests, sorted_violation
from dataset_downloads.optimise import (
    OptimiseError,
    UnknownColumn,
    VerificationFailed,
    _verify,
    _write,
    main,
    optimise,
    row_group_sizes,
)

ROWS = 2_500


def planning_table(rows: int = ROWS) -> pa.Table:
    """Rows in a scrambled order, with nulls, duplicates and several types, so sorting has work to do."""
    order = [(i * 7919) % rows for i in range(rows)]
    return pa.table(
        {
            "entity": pa.array([1_000 + i for i in order], pa.int64()),
            "name": pa.array([None if i % 11 == 0 else f'Área {i}, "q"' for i in order]),
            "organisation-entity": pa.array([None if i % 97 == 0 else 600 + i % 13 for i in order], pa.int64()),
            "reference": pa.array([f"REF-{i % 1_000}" for i in order]),
            "entry-date": pa.array([datetime.date(2020, 1, 1) + datetime.timedelta(days=i % 400) for i in order]),
            "score": pa.array([float(i) / 3 if i % 5 else None for i in order], pa.float64()),
            "tags": pa.array([[str(i % 3)] * (i % 3) for i in order], pa.list_(pa.string())),
        }
    )


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A scrambled source file with small row groups, as an unoptimised export might be."""
    path = tmp_path / "source.parquet"
    pq.write_table(planning_table(), path, row_group_size=700)
    return path


def _sorted_rows(table: pa.Table) -> list[dict[str, object]]:
    return sorted(table.to_pylist(), key=repr)


def test_rewrite_has_identical_rows_and_schema(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out.parquet"
    report = optimise(source, dest, row_group_rows=500)
    written = pq.read_table(dest)
    original = pq.read_table(source)
    assert written.schema.remove_metadata().equals(original.schema.remove_metadata())
    assert _sorted_rows(written) == _sorted_rows(original)
    assert (report.rows, report.verified, report.sort_by) == (ROWS, True, ("organisation-entity", "entity"))


def test_rows_are_sorted_by_organisation_then_entity_nulls_last(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out.parquet"
    optimise(source, dest, row_group_rows=500)
    rows = pq.read_table(dest, columns=["organisation-entity", "entity"]).to_pylist()
    keys = [(r["organisation-entity"] is None, r["organisation-entity"] or 0, r["entity"]) for r in rows]
    assert keys == sorted(keys)
    assert rows[-1]["organisation-entity"] is None


def test_row_groups_are_cut_at_organisations(source: Path, tmp_path: Path) -> None:
    """13 organisations of ~190 rows and 26 without one: each gets its own row groups, whose statistics prove
    that every row holds that organisation (the worker then reads no filter column and decodes nothing extra)."""
    dest = tmp_path / "out.parquet"
    report = optimise(source, dest, row_group_rows=500)
    meta = pq.ParquetFile(dest).metadata
    org = meta.schema.names.index("organisation-entity")
    orgs = collections.Counter(pq.read_table(source).column("organisation-entity").to_pylist())
    expected = [orgs[k] for k in sorted(orgs, key=lambda k: (k is None, k or 0))]
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == expected
    assert report.row_groups == 14
    for i in range(13):
        stats = meta.row_group(i).column(org).statistics
        assert stats is not None
        assert stats.min == stats.max == 600 + i


@pytest.mark.parametrize(
    ("runs", "group", "expected"),
    [
        pytest.param([1_200, 10, 10, 10, 10, 10], 500, [500, 500, 200, 50], id="big-then-small-packed"),
        pytest.param([10, 10, 60, 10], 500, [20, 60, 10], id="small-then-own-group"),
        pytest.param([500, 500], 500, [500, 500], id="exact"),
        pytest.param([3] * 10, 1_000, [30], id="all-small"),
        pytest.param([7], 5, [5, 2], id="one-value"),
    ],
)
def test_row_group_sizes(runs: list[int], group: int, expected: list[int]) -> None:
    key = pa.array([value for value, run in enumerate(runs) for _ in range(run)], pa.int64())
    assert row_group_sizes(key, group) == expected
    assert row_group_sizes(pa.chunked_array([key[:3], key[3:]]), group) == expected


def test_without_sort_keys_row_groups_have_the_requested_size(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out.parquet"
    optimise(source, dest, row_group_rows=1_000, sort_by=[])
    meta = pq.ParquetFile(dest).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [1_000, 1_000, 500]


def test_verification_catches_row_groups_not_cut_at_organisations(source: Path, tmp_path: Path) -> None:
    table = pq.read_table(source)
    dest = tmp_path / "fixed-size.parquet"
    pq.write_table(table.sort_by([("organisation-entity", "ascending"), ("entity", "ascending")]), dest, 500)
    with pytest.raises(VerificationFailed, match="not cut as planned"):
        _verify(table, dest, ("organisation-entity", "entity"), 1_000)


def test_statistics_page_index_bloom_filters_and_zstd(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out.parquet"
    report = optimise(source, dest, row_group_rows=500)
    meta = pq.ParquetFile(dest).metadata
    org = meta.schema.names.index("organisation-entity")
    first = meta.row_group(0)
    stats = first.column(org).statistics
    assert stats is not None
    assert stats.has_min_max
    assert (stats.min, stats.max) == (600, 600)
    entity = first.column(meta.schema.names.index("entity"))
    assert entity.compression == "ZSTD"
    assert entity.has_offset_index
    assert entity.has_column_index
    assert report.bloom_filter_columns == ("entity", "reference")
    assert [c.column_index for c in first.sorting_columns] == [org, 0]


def test_empty_source_gives_an_empty_file_with_the_schema(tmp_path: Path) -> None:
    source, dest = tmp_path / "empty.parquet", tmp_path / "out.parquet"
    pq.write_table(planning_table().slice(0, 0), source)
    report = optimise(source, dest)
    assert report.rows == 0
    assert pq.read_table(dest).schema.equals(planning_table().schema)


def test_unknown_sort_column_is_refused_and_nothing_is_written(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out.parquet"
    with pytest.raises(UnknownColumn, match="organization-entity"):
        optimise(source, dest, sort_by=["organization-entity"])
    assert list(tmp_path.iterdir()) == [source]


def test_source_and_dest_must_differ(source: Path) -> None:
    with pytest.raises(OptimiseError, match="same file"):
        optimise(source, source)


def test_a_missing_dest_folder_is_refused_before_reading(source: Path, tmp_path: Path) -> None:
    missing = tmp_path / "optimised"
    with pytest.raises(OptimiseError, match=r"optimised does not exist: create it first"):
        optimise(source, missing / "out.parquet")
    assert not missing.exists()


def test_verification_catches_a_changed_row(source: Path, tmp_path: Path) -> None:
    table = pq.read_table(source)
    dest = tmp_path / "tampered.parquet"
    tampered = table.set_column(1, "name", pa.array(["x", *table.column("name").to_pylist()[1:]]))
    _write(tampered, dest, ("organisation-entity", "entity"), group=500, level=3, blooms=())
    with pytest.raises(VerificationFailed, match="rows differ"):
        _verify(table, dest, ("organisation-entity", "entity"), 500)


def test_row_digests_ignore_order_but_not_values_nor_null_placement() -> None:
    table = pa.table({"a": ["x", None, "x"], "b": ["", "y", None]})
    reordered = table.take([2, 0, 1])
    shifted = pa.table({"a": ["x", "", "x"], "b": ["", "y", None]})
    assert (row_digests(table.to_batches()) == row_digests(reordered.to_batches(max_chunksize=1))).all()
    assert not (row_digests(table.to_batches()) == row_digests(shifted.to_batches())).all()


def test_sorted_violation_finds_the_first_row_across_batches() -> None:
    batches = [pa.record_batch({"k": [1, 2]}), pa.record_batch({"k": [2, 1]})]
    assert sorted_violation(batches, ("k",)) == 3
    assert sorted_violation(batches[:1], ("k",)) is None


def test_main_prints_a_summary_and_reports_errors(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "out.parquet"
    assert main([str(source), str(dest), "--row-group-rows", "1000", "--no-bloom"]) == 0
    assert f"{ROWS:,} rows in 14 row groups" in capsys.readouterr().out
    assert main([str(source), str(dest), "--sort-by", "nope"]) == 1
    assert "unknown-column" in capsys.readouterr().err
