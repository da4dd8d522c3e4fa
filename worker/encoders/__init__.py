"""The one table of output formats: :data:`ENCODERS` maps each :class:`~edge.contract.Format` to its encoder,
content type, file extension and whether gzip may be applied on the way out (docs/formats.md).

An encoder takes the output schema (already projected) and an iterator of record batches, and yields
chunks of bytes (about 64 KiB to 1 MiB, never empty). It pulls the first batch before yielding anything,
and if the batch iterator raises it lets the exception through without writing its closing bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import pyarrow as pa

from edge.contract import Format
from worker.encoders.csv import encode_csv
from worker.encoders.geojson import encode_geojson
from worker.encoders.json import encode_json
from worker.encoders.ndjson import encode_ndjson
from worker.encoders.parquet import encode_parquet

Encoder = Callable[[pa.Schema, Iterator[pa.RecordBatch]], Iterator[bytes]]


@dataclass(frozen=True)
class FormatSpec:
    """How one format is written and served."""

    encoder: Encoder
    content_type: str
    extension: str
    compressible: bool


ENCODERS: Mapping[Format, FormatSpec] = MappingProxyType(
    {
        Format.CSV: FormatSpec(encode_csv, "text/csv; charset=utf-8", "csv", compressible=True),
        Format.JSON: FormatSpec(encode_json, "application/json", "json", compressible=True),
        Format.NDJSON: FormatSpec(encode_ndjson, "application/x-ndjson", "ndjson", compressible=True),
        # Parquet pages are already zstd-compressed: gzip would cost CPU for nothing.
        Format.PARQUET: FormatSpec(encode_parquet, "application/vnd.apache.parquet", "parquet", compressible=False),
        Format.GEOJSON: FormatSpec(encode_geojson, "application/geo+json", "geojson", compressible=True),
    }
)

__all__ = ["ENCODERS", "Encoder", "FormatSpec"]
