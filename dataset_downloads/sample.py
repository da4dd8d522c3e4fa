"""Deterministic sample datasets shaped like planning data (DESIGN §4), for the local stack, tests and benchmarks.

Everything is drawn from one seeded generator per dataset and built column-wise with numpy and pyarrow
compute, so writing all the samples takes seconds and the files are byte-identical from run to run (for one
pyarrow version: the writer stamps its version into the footer).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

# Names that make CSV quoting, JSON escaping and UTF-8 handling do real work.
_NAMES = (
    "Land at Mill Lane",
    'Smith\'s "Old" Orchard, North',
    "Line one\nLine two",
    "Café Ünïcödé — Å",
    "Zone, with commas, and more",
    "Carriage\r\nreturn",
    "東京 area",
    "Tab\tseparated",
    "Plain name",
    "Emoji 🌳 grove",
)
_QUALITIES = ("authoritative", "some", "usable", "trustworthy", "")
_EPOCH_DAY_2000 = 10_957  # days from 1970-01-01 to 2000-01-01
# pyarrow-stubs' compute overloads do not model mixing arrays and scalars in one call (string joins do), so
# column-building helpers pass Arrow values around untyped.
Arrow = Any


@dataclass(frozen=True)
class SampleSpec:
    """One sample dataset: its size, its publishers and the shape of its geometry."""

    dataset: str
    rows: int
    organisations: int
    row_group_size: int
    seed: int
    geometry: bool = True
    zipf_exponent: float = 1.1
    entity_base: int = 1_000_000


SAMPLES: tuple[SampleSpec, ...] = (
    SampleSpec("conservation-area", 2_000, 25, 500, seed=1, entity_base=44_000_000),
    SampleSpec("tree", 10_000, 40, 2_500, seed=2, geometry=False, entity_base=19_000_000),
    SampleSpec("title-boundary", 300_000, 3_000, 20_000, seed=3, entity_base=12_000_000),
)


def scaled(specs: Iterable[SampleSpec], factor: float) -> tuple[SampleSpec, ...]:
    """The same datasets with ``factor`` times the rows and row-group sizes (at least 1), for quick tests.

    >>> scaled(SAMPLES, 0.1)[0].rows
    200
    """
    return tuple(
        replace(s, rows=max(1, int(s.rows * factor)), row_group_size=max(1, int(s.row_group_size * factor)))
        for s in specs
    )


def write_samples(directory: Path, specs: Sequence[SampleSpec] = SAMPLES) -> list[Path]:
    """Write ``{dataset}.parquet`` for each spec into ``directory`` (created if needed); return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for spec in specs:
        path = directory / f"{spec.dataset}.parquet"
        pq.write_table(
            sample_table(spec),
            path,
            row_group_size=spec.row_group_size,
            compression="zstd",
            write_statistics=True,
        )
        paths.append(path)
    return paths


def sample_table(spec: SampleSpec) -> pa.Table:
    """The rows of one sample dataset, sorted by ``organisation-entity`` then ``entity``."""
    rng = np.random.default_rng(spec.seed)
    n = spec.rows
    organisation = _organisations(rng, spec)
    entity = spec.entity_base + rng.permutation(n).astype(np.int64)
    order = np.lexsort((entity, organisation))
    organisation, entity = organisation[order], entity[order]
    start = rng.integers(0, 8_000, n)
    ended = rng.random(n) < 0.2
    x = np.round(-5.5 + 7.2 * rng.random(n), 6)
    y = np.round(50.0 + 5.5 * rng.random(n), 6)
    columns: dict[str, Arrow] = {
        "entity": pa.array(entity, pa.int64()),
        "name": _names(rng, entity),
        "dataset": pa.array(np.full(n, spec.dataset)),
        "organisation-entity": pa.array(organisation, pa.int64()),
        "reference": _join("", _text("REF-"), _cast_str(entity - spec.entity_base)),
        "prefix": pa.array(np.full(n, spec.dataset)),
        "typology": pa.array(np.full(n, "geography")),
        "start-date": _dates(start),
        "end-date": pa.array(_EPOCH_DAY_2000 + start + rng.integers(1, 2_000, n), pa.int32(), mask=~ended).cast(
            pa.date32()
        ),
        "entry-date": _dates(start + rng.integers(0, 400, n)),
    }
    if spec.geometry:
        columns["geometry"] = _geometry(rng, x, y)
    columns["point"] = _join("", _text("POINT ("), _cast_str(x), _text(" "), _cast_str(y), _text(")"))
    columns["quality"] = pa.array(np.array(_QUALITIES)[rng.integers(0, len(_QUALITIES), n)])
    columns["json"] = _json(rng, entity)
    return pa.table(columns)


def _organisations(rng: np.random.Generator, spec: SampleSpec) -> np.ndarray:
    """Publisher ids with a Zipf-like skew: a few organisations publish most rows, a long tail a few each."""
    ranks = np.arange(1, spec.organisations + 1, dtype=np.float64)
    weights = ranks**-spec.zipf_exponent
    ids = 600_000 + rng.permutation(spec.organisations * 3)[: spec.organisations].astype(np.int64)
    return ids[rng.choice(spec.organisations, size=spec.rows, p=weights / weights.sum())]


def _names(rng: np.random.Generator, entity: np.ndarray) -> Arrow:
    templates = pa.array(_NAMES).take(rng.integers(0, len(_NAMES), len(entity)))
    return _join(" ", templates, _cast_str(entity))


def _geometry(rng: np.random.Generator, x: np.ndarray, y: np.ndarray) -> Arrow:
    """WKT: a square POLYGON for most rows, a two-square MULTIPOLYGON for some, null for a tenth."""
    n = len(x)
    d = np.round(0.0005 + 0.002 * rng.random(n), 6)
    kind = rng.random(n)
    polygon = _ring(x, y, d)
    multi = _join("", _text("MULTIPOLYGON ((("), _ring(x, y, d), _text(")), (("), _ring(x + 3 * d, y, d), _text(")))"))
    single = _join("", _text("POLYGON (("), polygon, _text("))"))
    wkt = pc.if_else(pa.array(kind < 0.15), multi, single)
    return pc.if_else(pa.array(kind > 0.9), pa.nulls(n, pa.string()), wkt)


def _ring(x: np.ndarray, y: np.ndarray, d: np.ndarray) -> Arrow:
    """A closed square ring ``x y, x+d y, x+d y+d, x y+d, x y`` as WKT coordinate text."""
    x0, y0 = _cast_str(x), _cast_str(y)
    x1, y1 = _cast_str(np.round(x + d, 6)), _cast_str(np.round(y + d, 6))
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    parts = [_join(" ", cx, cy) for cx, cy in corners]
    return _join(", ", *parts)


def _json(rng: np.random.Generator, entity: np.ndarray) -> Arrow:
    """A JSON object per row, as text: quotes and commas that a CSV writer must escape."""
    n = len(entity)
    notes = pa.array(np.array(['"a \\"quoted\\" note, with commas"', '"plain"', '"naïve café"', "null"]))
    return _join(
        "",
        _text('{"area-hectares": '),
        _cast_str(rng.integers(1, 50_000, n) / 100),
        _text(', "notes": '),
        notes.take(rng.integers(0, len(notes), n)),
        _text(', "listed": '),
        pa.array(np.where(rng.random(n) < 0.3, "true", "false")),
        _text("}"),
    )


def _dates(days_since_2000: np.ndarray) -> Arrow:
    return pa.array((_EPOCH_DAY_2000 + days_since_2000).astype(np.int32), pa.int32()).cast(pa.date32())


def _cast_str(values: np.ndarray) -> Arrow:
    return pc.cast(pa.array(values), pa.string())


def _text(value: str) -> Arrow:
    return pa.scalar(value, pa.string())


def _join(separator: str, *parts: Arrow) -> Arrow:
    return pc.binary_join_element_wise(*parts, separator)
