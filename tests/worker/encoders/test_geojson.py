"""GeoJSON: a FeatureCollection with geometry from WKT and the other columns as properties."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from tests.worker.encoders.conftest import batch_of, collect_until_error, failing, schema_of
from worker.encoders.geojson import encode_geojson, geometry_column
from worker.errors import NoGeometry

SCHEMA = schema_of([("entity", pa.int64()), ("geometry", pa.string()), ("name", pa.string()), ("point", pa.string())])
GOLDEN = (
    b'{"type":"FeatureCollection","features":[\n'
    b'{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,1],[0,0]]]},'
    b'"properties":{"entity":1,"name":"a","point":"POINT (0.3 0.3)"}},\n'
    b'{"type":"Feature","geometry":null,"properties":{"entity":2,"name":null,"point":null}},\n'
    b'{"type":"Feature","geometry":null,"properties":{"entity":3,"name":"c","point":null,"geometry":"POINT (oops)"}}\n'
    b"]}"
)


def batch() -> pa.RecordBatch:
    return batch_of(
        [
            [1, 2, 3],
            ["POLYGON ((0 0, 1 0, 0 1, 0 0))", None, "POINT (oops)"],
            ["a", None, "c"],
            ["POINT (0.3 0.3)", None, None],
        ],
        schema=SCHEMA,
    )


def test_golden_bytes() -> None:
    assert b"".join(encode_geojson(SCHEMA, iter([batch()]))) == GOLDEN


def test_it_is_an_rfc7946_feature_collection() -> None:
    document = json.loads(GOLDEN)
    assert document["type"] == "FeatureCollection"
    for feature in document["features"]:
        assert set(feature) == {"type", "geometry", "properties"}
        assert feature["type"] == "Feature"
    assert "geometry" not in document["features"][0]["properties"]  # the geometry column is not repeated


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        pytest.param(["entity", "point", "geometry"], "geometry", id="geometry-first"),
        pytest.param(["entity", "point"], "point", id="point-else"),
    ],
)
def test_geometry_column(names: list[str], expected: str) -> None:
    assert geometry_column(schema_of([(name, pa.string()) for name in names])) == expected


def test_no_geometry_column_is_a_400() -> None:
    with pytest.raises(NoGeometry) as raised:
        geometry_column(schema_of([("entity", pa.int64())]))
    assert raised.value.status == 400
    assert "entity" in raised.value.detail


def test_point_column_when_there_is_no_geometry() -> None:
    schema = schema_of([("point", pa.string())])
    out = b"".join(encode_geojson(schema, iter([batch_of([["POINT (1 2)"]], schema=schema)])))
    assert json.loads(out)["features"] == [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}, "properties": {}}
    ]


def test_empty_result() -> None:
    assert b"".join(encode_geojson(SCHEMA, iter([]))) == b'{"type":"FeatureCollection","features":[]}'


def test_non_text_geometry_is_kept_in_properties() -> None:
    schema = schema_of([("geometry", pa.binary())])
    out = b"".join(encode_geojson(schema, iter([batch_of([[b"\x01", None]], schema=schema)])))
    features = json.loads(out)["features"]
    assert [f["geometry"] for f in features] == [None, None]
    assert [f["properties"] for f in features] == [{"geometry": "AQ=="}, {}]


def test_a_failing_source_never_closes_the_collection() -> None:
    partial = collect_until_error(encode_geojson(SCHEMA, failing([batch()])))
    assert partial.startswith(b'{"type":"FeatureCollection"')
    assert not partial.endswith(b"]}")
    with pytest.raises(json.JSONDecodeError):
        json.loads(partial)
