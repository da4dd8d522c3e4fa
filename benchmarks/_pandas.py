"""The "obvious implementation" baseline: 10,000-row pyarrow batches → pandas → filter → text, per format.

Deliberately naive (what a first version would do), so the benchmark shows what the worker's design buys.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

BATCH = 10_000
FILTER = "organisation-entity"


def _wkt(text: object) -> dict[str, Any] | None:
    """A POINT or single-ring POLYGON in WKT as a GeoJSON geometry (enough for the benchmark data)."""
    if not isinstance(text, str) or not text:  # pandas 3 gives NaN, not None, for a missing string
        return None
    kind, _, body = text.partition(" ")
    pairs = [[float(v) for v in pair.split()] for pair in body.strip("() ").split(",")]
    if kind == "POINT":
        return {"type": "Point", "coordinates": pairs[0]}
    return {"type": "Polygon", "coordinates": [pairs]}


def _frames(source: pq.ParquetFile, values: list[int]) -> Iterator[pd.DataFrame]:
    for batch in source.iter_batches(BATCH):
        frame = batch.to_pandas()
        yield frame[frame[FILTER].isin(values)] if values else frame


def encode_batches(source: pq.ParquetFile, fmt: str, values: list[int]) -> Iterator[bytes]:
    """The chosen text format's bytes, one chunk per 10,000-row batch."""
    first = True
    yield {"csv": b"", "ndjson": b"", "json": b"[", "geojson": b'{"type":"FeatureCollection","features":['}[fmt]
    for frame in _frames(source, values):
        if fmt == "csv":
            yield frame.to_csv(index=False, header=first).encode()
            first = False
            continue
        records = frame.to_dict(orient="records")
        if fmt == "geojson":
            records = [
                {"type": "Feature", "geometry": _wkt(r.pop("geometry")) or _wkt(r["point"]), "properties": r}
                for r in records
            ]
        lines = [json.dumps(r, default=str) for r in records]
        if fmt == "ndjson":
            yield "".join(f"{line}\n" for line in lines).encode()
        elif lines:
            yield (("" if first else ",") + ",".join(lines)).encode()
            first = False
    yield {"csv": b"", "ndjson": b"", "json": b"]", "geojson": b"]}"}[fmt]


def write_parquet(source: pq.ParquetFile, values: list[int], sink: Any) -> None:
    """One Parquet file (zstd) into ``sink``, one row group per pandas batch."""
    with pq.ParquetWriter(sink, source.schema_arrow, compression="zstd") as writer:
        for frame in _frames(source, values):
            writer.write_table(pa.Table.from_pandas(frame, schema=source.schema_arrow, preserve_index=False))
