"""The benchmark dataset: a deterministic planning-like Parquet file, generated once and cached.

Two layouts of the same rows: ``unsorted`` (pyarrow's default writer, ~1M-row groups, rows in arrival
order) and ``sorted`` (rewritten by :func:`dataset_downloads.optimise.optimise`). Every value comes from a
seeded NumPy generator and vectorised Arrow kernels, so 2M rows take seconds, not minutes.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # imported from a script in benchmarks/: make the project importable
    sys.path.insert(0, str(ROOT))

from dataset_downloads import optimise as optimise_module  # noqa: E402
from dataset_downloads.optimise import optimise  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache"
ORGANISATIONS = 400
SEED = 20240601
CHUNK = 250_000
UNSORTED_GROUP_ROWS = 1_000_000
QUALITY = ["", "authoritative", "some", "same"]
DATASETS = ["conservation-area", "article-4-direction-area", "tree-preservation-zone"]


@dataclass(frozen=True)
class Dataset:
    """A generated dataset: its folder (one ``{layout}.parquet`` per layout) and the filter values."""

    folder: Path
    rows: int
    cases: dict[str, tuple[int, ...]]  # case name → organisation-entity values
    matches: dict[str, int]  # case name → matching rows

    def path(self, layout: str) -> Path:
        """The Parquet file of one layout: ``unsorted`` or ``sorted``."""
        return self.folder / f"{layout}.parquet"


def _join(*parts: Any) -> Any:
    """Concatenate strings and string arrays row by row (pyarrow-stubs reject plain ``str`` arguments)."""
    join: Any = pc.binary_join_element_wise
    return join(*(pa.scalar(p) if isinstance(p, str) else p for p in parts), pa.scalar(""))


def _text(values: Any) -> Any:
    return pc.cast(pa.array(values), pa.string())


def organisation_weights() -> np.ndarray:
    """A skewed (Zipf-like, s=0.85) share per organisation: a few large councils, a long tail."""
    ranks = np.arange(1, ORGANISATIONS + 1, dtype=np.float64)
    weights = ranks**-0.85
    return np.asarray(weights / weights.sum())


def _polygons(rng: np.random.Generator, lon: np.ndarray, lat: np.ndarray) -> Any:
    """``POLYGON ((x y, ...))`` rings of 8-120 vertices around each centre, built with Arrow kernels."""
    counts = rng.integers(8, 121, size=len(lon))
    total = int(counts.sum())
    owner = np.repeat(np.arange(len(lon)), counts)
    angle = rng.uniform(0, 2 * np.pi, size=total)
    radius = rng.uniform(0.0005, 0.01, size=total)
    xs = _text(np.round(lon[owner] + radius * np.cos(angle), 6))
    ys = _text(np.round(lat[owner] + radius * np.sin(angle), 6))
    pairs = _join(xs, " ", ys)
    offsets: Any = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    rings: Any = pc.binary_join(pa.ListArray.from_arrays(offsets, pairs), ", ")
    return _join("POLYGON ((", rings, "))")


def boundary_like(table: pa.Table, seed: int = 7) -> pa.Table:
    """``table`` with each polygon's vertices replaced by an ordered walk of 2-30 m steps from the row's point, the
    vertex counts kept: consecutive vertices of a surveyed boundary share their leading digits, which the dataset's
    random vertices around a centre do not. An assumption about real boundaries, to see how much the compression
    ratio depends on it (``benchmarks/compression.py --boundary-like``), not data.
    """
    rng = np.random.default_rng(seed)
    geometry = table["geometry"].combine_chunks()
    rows = np.flatnonzero(np.asarray(pc.is_valid(geometry)))
    count: Any = pc.count_substring  # the stubs know only the concrete string array classes
    counts = np.asarray(count(geometry.take(rows), ", ")) + 1
    point = pc.extract_regex(table["point"].combine_chunks().take(rows), r"POINT \((?P<x>\S+) (?P<y>\S+)\)")
    owner = np.repeat(np.arange(len(rows)), counts)
    step = rng.uniform(0.00002, 0.0003, size=owner.size)
    angle = _within(rng.normal(0, 0.3, size=owner.size) + 2 * np.pi / counts[owner], counts)
    xs = np.asarray(pc.cast(point.field("x"), pa.float64()))[owner] + _within(step * np.cos(angle), counts)
    ys = np.asarray(pc.cast(point.field("y"), pa.float64()))[owner] + _within(step * np.sin(angle), counts)
    pairs = _join(_text(np.round(xs, 6)), " ", _text(np.round(ys, 6)))
    offsets: Any = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    rings: Any = pc.binary_join(pa.ListArray.from_arrays(offsets, pairs), ", ")
    walked = geometry.to_numpy(zero_copy_only=False).astype(object)
    walked[rows] = _join("POLYGON ((", rings, "))").to_numpy(zero_copy_only=False)
    index = table.schema.get_field_index("geometry")
    return table.set_column(index, table.schema.field(index), pa.array(walked, table.schema.field(index).type))


def _within(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Running sums of ``values`` restarting at every group of ``counts`` consecutive values."""
    total = np.cumsum(values)
    starts = np.cumsum(counts) - counts
    return np.asarray(total - np.repeat(np.where(starts > 0, total[starts - 1], 0.0), counts))


def _chunk(rng: np.random.Generator, start: int, n: int) -> pa.RecordBatch:
    """Rows ``start .. start+n`` of the dataset."""
    entity = np.arange(start, start + n, dtype=np.int64) + 44_000_000
    org = rng.choice(ORGANISATIONS, size=n, p=organisation_weights()).astype(np.int64) + 600
    lon = rng.uniform(-5.5, 1.7, size=n)
    lat = rng.uniform(50.0, 55.8, size=n)
    ids = _text(entity - 44_000_000)
    has_geometry = rng.random(n) < 1 / 3
    where = np.flatnonzero(has_geometry)
    geometry = pa.nulls(n, pa.string()).to_numpy(zero_copy_only=False).astype(object)
    geometry[where] = _polygons(rng, lon[where], lat[where]).to_numpy(zero_copy_only=False)
    point = _join("POINT (", _text(np.round(lon, 6)), " ", _text(np.round(lat, 6)), ")")
    start_days = rng.integers(0, 20_000, size=n)
    has_end = rng.random(n) < 0.1
    end = np.where(has_end, start_days + rng.integers(1, 3000, size=n), 0)
    notes = _join('{"notes": "Designated area ', ids, '", "documentation-url": ')
    url = _join('"https://example.org/planning/', ids, '"}')
    columns = {
        "entity": pa.array(entity),
        "name": _join("Area ", ids, " of organisation ", _text(org)),
        "dataset": pa.array(np.array(DATASETS)[rng.integers(0, len(DATASETS), size=n)]),
        "organisation-entity": pa.array(org),
        "reference": _join("REF-", ids),
        "prefix": pa.array(["conservation-area"] * n),
        "typology": pa.array(["geography"] * n),
        "start-date": pa.array(start_days.astype("datetime64[D]"), pa.date32()),
        "end-date": pa.array(end.astype("datetime64[D]"), pa.date32(), mask=~has_end),
        "entry-date": pa.array((start_days + 30).astype("datetime64[D]"), pa.date32()),
        "geometry": pa.array(geometry, pa.string()),
        "point": point,
        "quality": pa.array(np.array(QUALITY)[rng.integers(0, len(QUALITY), size=n)]),
        "json": _join(notes, url),
    }
    return pa.RecordBatch.from_pydict(columns)


def _cases(org_counts: dict[int, int], rows: int) -> tuple[dict[str, tuple[int, ...]], dict[str, int]]:
    """Pick the one organisation closest to each target fraction of the rows."""
    cases: dict[str, tuple[int, ...]] = {"all": ()}
    matches = {"all": rows}
    for name, fraction in (("10pct", 0.10), ("1pct", 0.01)):
        best = min(org_counts, key=lambda org: abs(org_counts[org] - fraction * rows))
        cases[name] = (best,)
        matches[name] = org_counts[best]
    return cases, matches


def recipe(rows: int, row_group_rows: int) -> str:
    """What the files are made from: this module's and the optimiser's code, the sizes and pyarrow's version. A
    cached dataset made from another recipe is made again (a changed generator or optimiser, a new pyarrow)."""
    made_by = [Path(__file__).read_bytes(), Path(optimise_module.__file__).read_bytes()]
    made_by.append(f"{rows}/{row_group_rows}/{pa.__version__}".encode())
    return hashlib.sha256(b"\0".join(made_by)).hexdigest()[:16]


def generate(rows: int, row_group_rows: int = 100_000) -> Dataset:
    """The cached dataset of ``rows`` rows, generating both layouts if missing or made from another
    :func:`recipe` (same recipe, same seed → same bytes)."""
    folder = CACHE / f"rows-{rows}"
    meta = folder / "cases.json"
    made_from = recipe(rows, row_group_rows)
    data = json.loads(meta.read_text()) if meta.exists() else {}
    if data.get("recipe") == made_from and (folder / "sorted.parquet").exists():
        cases = {k: tuple(v) for k, v in data["cases"].items()}
        return Dataset(folder, rows, cases, {k: int(v) for k, v in data["matches"].items()})
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    counts: dict[int, int] = {}
    unsorted = folder / "unsorted.parquet"
    pending: list[pa.RecordBatch] = []
    writer: pq.ParquetWriter | None = None
    for start in range(0, rows, CHUNK):
        batch = _chunk(rng, start, min(CHUNK, rows - start))
        for org, count in zip(*np.unique(batch.column(3).to_numpy(), return_counts=True), strict=True):
            counts[int(org)] = counts.get(int(org), 0) + int(count)
        writer = writer or pq.ParquetWriter(unsorted, batch.schema, compression="snappy")
        pending.append(batch)
        if len(pending) * CHUNK >= UNSORTED_GROUP_ROWS or start + CHUNK >= rows:
            # pyarrow's default layout: one ~1M-row group per write, as a naive export produces
            writer.write_table(pa.Table.from_batches(pending), row_group_size=UNSORTED_GROUP_ROWS)
            pending = []
    if writer is not None:
        writer.close()
    optimise(unsorted, folder / "sorted.parquet", row_group_rows=row_group_rows)
    cases, matches = _cases(counts, rows)
    meta.write_text(json.dumps({"recipe": made_from, "cases": cases, "matches": matches}, indent=2))
    return Dataset(folder, rows, cases, matches)
