"""The engine benchmark's runner on a small file: every worker configuration answers, with the same bytes, and
imports only what its deployment has (pandas and numpy never; polars only where it is deployed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.support.parquet import write_planning_file

ROOT = Path(__file__).resolve().parents[1]
ROWS = 5_000


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bench")
    write_planning_file(path / "unsorted.parquet", ROWS, row_group_size=2_000)
    return path


def run(folder: Path, engine: str, fmt: str, values: list[int]) -> dict[str, Any]:
    spec = {
        "engine": engine,
        "format": fmt,
        "folder": str(folder),
        "layout": "unsorted",
        "path": str(folder / "unsorted.parquet"),
        "values": values,
    }
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "_runners.py"), json.dumps(spec)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert "error" not in result, (result, done.stderr[-2000:])
    return result


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_the_worker_configurations_write_the_same_bytes(folder: Path, fmt: str) -> None:
    organisation = pq.read_table(folder / "unsorted.parquet", columns=["organisation-entity"]).column(0)[0].as_py()
    results = {
        engine: run(folder, engine, fmt, [organisation]) for engine in ("worker", "worker-frugal", "worker-lambda")
    }
    assert len({result["bytes"] for result in results.values()}) == 1, results
    assert results["worker"]["bytes"] > 0
    assert results["worker-lambda"]["optional_imported"] == []  # the Lambda zip: no pandas, numpy or polars
    assert results["worker"]["optional_imported"] == ["polars"]  # polars renders; pandas, numpy never imported
    assert all(result["ttfb"] <= result["wall"] for result in results.values())


@pytest.mark.parametrize("fmt", ["ndjson", "geojson", "parquet"])
def test_the_lambda_zip_configuration_needs_nothing_it_does_not_ship(folder: Path, fmt: str) -> None:
    # The zip has no numpy, pandas or polars (infra/package.py): every format must work and match the worker's.
    results = {engine: run(folder, engine, fmt, []) for engine in ("worker", "worker-lambda")}
    assert results["worker-lambda"]["optional_imported"] == []
    assert results["worker-lambda"]["bytes"] == results["worker"]["bytes"] > 0, results


def test_the_harness_docstring_examples_run() -> None:
    # In a child process: importing benchmarks/engines.py rearranges sys.path (its edge.py shadows the edge package).
    script = ROOT / "benchmarks" / "engines.py"
    done = subprocess.run(
        [sys.executable, "-m", "doctest", "-v", str(script)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "engines.median_run" in done.stdout  # the example was found and run


def test_boundary_like_polygons_walk_from_the_point_with_the_same_vertex_counts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    import pyarrow as pa

    path = Path(__file__).parent.parent / "benchmarks" / "_dataset.py"
    spec = importlib.util.spec_from_file_location("bench_dataset", path)
    assert spec is not None
    assert spec.loader is not None
    dataset = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, dataset)  # its dataclasses look their module up there
    spec.loader.exec_module(dataset)
    polygons = ["POLYGON ((1 2, 3 4, 5 6))", None, "POLYGON ((0 0, 9 9, 8 8, 7 7, 6 6))"]
    points = ["POINT (-1.5 52.25)", "POINT (0 0)", "POINT (0.125 51.5)"]
    table = pa.table({"geometry": pa.array(polygons, pa.string()), "point": pa.array(points, pa.string())})
    walked = dataset.boundary_like(table)["geometry"].to_pylist()
    assert walked[1] is None
    for before, after, start in ((polygons[0], walked[0], (-1.5, 52.25)), (polygons[2], walked[2], (0.125, 51.5))):
        assert before is not None
        assert after.startswith("POLYGON ((")
        assert after.endswith("))")
        vertices = [tuple(map(float, pair.split())) for pair in after[len("POLYGON ((") : -2].split(", ")]
        assert len(vertices) == before.count(",") + 1
        for (x0, y0), (x1, y1) in zip([start, *vertices], vertices, strict=False):
            assert 0 < ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5 < 0.0004  # steps of 2-30 m, rounded to 6 decimals
