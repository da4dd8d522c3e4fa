"""GeoJSON (RFC 7946): one FeatureCollection, one Feature per row, one feature per line.

The geometry comes from the WKT column ``geometry``, else ``point`` (:func:`geometry_column`); the other
columns are the feature's ``properties``, in schema order, in the JSON encoder's dialect. A null WKT gives
``"geometry":null``. A WKT value the parser rejects also gives ``"geometry":null`` but is not lost: its text
is kept in ``properties`` under the geometry column's name (only for that feature). Nothing is re-projected:
the WKT is taken to be WGS 84 longitude/latitude, as RFC 7946 requires.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from worker.encoders import cells
from worker.encoders.chunking import TEXT, Column, Text, choose, concat, fill, stream_rows, text_view
from worker.encoders.json import json_values, object_members
from worker.encoders.wkt_columns import geojson_geometries
from worker.errors import NoGeometry

GEOMETRY_COLUMNS = ("geometry", "point")
_HEAD = b'{"type":"FeatureCollection","features":[\n'


def geometry_column(schema: pa.Schema) -> str:
    """The column the geometry comes from: ``geometry`` if present, else ``point``, else :class:`NoGeometry`.

    >>> geometry_column(pa.schema([("point", pa.string()), ("name", pa.string())]))
    'point'
    """
    for name in GEOMETRY_COLUMNS:
        if name in schema.names:
            return name
    raise NoGeometry(
        f"GeoJSON needs a 'geometry' or 'point' column (WKT); this output has: {', '.join(schema.names) or 'none'}."
    )


def encode_geojson(schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> Iterator[bytes]:
    """Stream ``batches`` as a FeatureCollection; the closing ``]}`` only after the last batch arrived.

    >>> schema = pa.schema([("name", pa.string()), ("point", pa.string())])
    >>> b"".join(encode_geojson(schema, iter([pa.record_batch([["a"], ["POINT (1 2)"]], schema=schema)])))
    b'{"type":"FeatureCollection","features":[\\n{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},\
"properties":{"name":"a"}}\\n]}'
    """
    geometry_name = geometry_column(schema)
    index = schema.get_field_index(geometry_name)
    names = [name for i, name in enumerate(schema.names) if i != index]
    key = ',"' + geometry_name + '":' if names else '"' + geometry_name + '":'

    def render(batch: pa.RecordBatch) -> Text:
        geometry, invalid = _geometries(batch.column(index))
        members = object_members(names, [column for i, column in enumerate(batch.columns) if i != index])
        kept = choose(invalid, concat(key, fill(json_values(batch.column(index)), "null")), "")
        features = concat(
            '{"type":"Feature","geometry":', geometry, ',"properties":', *members, kept, "}}", ",\n", null=""
        )
        return text_view(features)

    return stream_rows(
        batches, render, head=_HEAD, separator=b",\n", tail=b"\n]}", empty=b'{"type":"FeatureCollection","features":[]}'
    )


def _geometries(column: Column) -> tuple[Column, Column]:
    """Each row's GeoJSON geometry text (``null`` for a null or rejected WKT) and whether it was rejected."""
    column = cells.decode(column)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        # Not WKT text (WKB, numbers…): no geometry, and every value is kept in properties.
        return pa.array(["null"] * len(column), TEXT), pc.is_valid(column)
    return geojson_geometries(column)
