"""Sample data: deterministic bytes, the planning-data schema, row groups, sort order and skew."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from dataset_downloads.sample import SAMPLES, sample_table, scaled, write_samples
from tests.dataset_downloads.local_stack import cli_samples

__all__ = ["cli_samples"]  # fixtures used by name

COLUMNS = [
    "entity",
    "name",
    "dataset",
    "organisation-entity",
    "reference",
    "prefix",
    "typology",
    "start-date",
    "end-date",
    "entry-date",
    "geometry",
    "point",
    "quality",
    "json",
]


def _digests(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.glob("*.parquet"))}


def test_samples_are_byte_identical_across_runs(tmp_path: Path) -> None:
    specs = scaled(SAMPLES, 0.1)
    write_samples(tmp_path / "a", specs)
    write_samples(tmp_path / "b", specs)
    first, second = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert first == second
    assert sorted(first) == ["conservation-area.parquet", "title-boundary.parquet", "tree.parquet"]


def test_schema_is_planning_data(cli_samples: Path) -> None:
    schema = pq.read_schema(cli_samples / "conservation-area.parquet")
    assert schema.names == COLUMNS
    assert schema.field("entity").type == pa.int64()
    assert schema.field("organisation-entity").type == pa.int64()
    for name in ("start-date", "end-date", "entry-date"):
        assert schema.field(name).type == pa.date32()


def test_tree_has_points_but_no_geometry(cli_samples: Path) -> None:
    table = pq.read_table(cli_samples / "tree.parquet")
    assert "geometry" not in table.column_names
    assert table.num_rows == 10_000
    assert pc.all(pc.starts_with(table["point"], "POINT (")).as_py()


@pytest.mark.parametrize(
    ("dataset", "rows", "groups"),
    [
        pytest.param("conservation-area", 2_000, 4, id="conservation-area"),
        pytest.param("tree", 10_000, 4, id="tree"),
        pytest.param("title-boundary", 300_000, 15, id="title-boundary"),
    ],
)
def test_row_groups_with_statistics(cli_samples: Path, dataset: str, rows: int, groups: int) -> None:
    metadata = pq.ParquetFile(cli_samples / f"{dataset}.parquet").metadata
    assert (metadata.num_rows, metadata.num_row_groups) == (rows, groups)
    index = metadata.schema.names.index("organisation-entity")
    statistics = metadata.row_group(0).column(index).statistics
    assert statistics is not None
    assert statistics.has_min_max


def test_title_boundary_is_sorted_and_skewed(cli_samples: Path) -> None:
    table = pq.read_table(cli_samples / "title-boundary.parquet", columns=["organisation-entity", "entity"])
    order = pc.sort_indices(table, sort_keys=[("organisation-entity", "ascending"), ("entity", "ascending")])
    assert order.equals(pa.array(range(table.num_rows), pa.uint64()))
    counts = sorted(
        int(count or 0) for count in pc.value_counts(table["organisation-entity"]).field("counts").to_pylist()
    )
    assert 2_000 <= len(counts) <= 3_000
    assert counts[-1] > 20_000  # the biggest publisher fills more than a row group
    assert sum(counts[-10:]) > table.num_rows // 4  # ten of thousands publish a quarter of the rows
    assert pc.count_distinct(table["entity"]).as_py() == table.num_rows


def test_text_exercises_quoting_and_nulls() -> None:
    table = sample_table(scaled(SAMPLES, 0.1)[0])
    names = [str(name) for name in table["name"].to_pylist()]
    for needle in (",", '"', "\n", "é", "東京"):
        assert any(needle in name for name in names), needle
    assert 0 < table["geometry"].null_count < table.num_rows
    assert 0 < table["end-date"].null_count < table.num_rows
    geometries = [str(wkt) for wkt in table["geometry"].drop_null().to_pylist()]
    assert any(g.startswith("MULTIPOLYGON") for g in geometries)
    assert str(table["json"][0].as_py()).startswith("{")
