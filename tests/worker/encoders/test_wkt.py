"""WKT → GeoJSON geometry: every type, Z kept, M dropped, EMPTY, and the texts the parser rejects."""

from __future__ import annotations

import json

import pytest

from worker.encoders.wkt import InvalidWkt, wkt_to_geojson


@pytest.mark.parametrize(
    ("wkt", "geometry"),
    [
        pytest.param("POINT (1 2)", '{"type":"Point","coordinates":[1,2]}', id="point"),
        pytest.param("POINT Z (1 2 3)", '{"type":"Point","coordinates":[1,2,3]}', id="point-z"),
        pytest.param("POINTZ(1 2 3)", '{"type":"Point","coordinates":[1,2,3]}', id="point-z-joined"),
        pytest.param("POINT (1 2 3)", '{"type":"Point","coordinates":[1,2,3]}', id="point-3d-untagged"),
        pytest.param("POINT M (1 2 9)", '{"type":"Point","coordinates":[1,2]}', id="point-m-dropped"),
        pytest.param("POINT ZM (1 2 3 9)", '{"type":"Point","coordinates":[1,2,3]}', id="point-zm"),
        pytest.param("point ( -0.5 +52. )", '{"type":"Point","coordinates":[-0.5,52.0]}', id="lowercase-signs"),
        pytest.param("POINT (.5 1E5)", '{"type":"Point","coordinates":[0.5,1E5]}', id="number-forms"),
        pytest.param("SRID=4326;POINT (1 2)", '{"type":"Point","coordinates":[1,2]}', id="ewkt"),
        pytest.param("LINESTRING (01 2,3 4)", '{"type":"LineString","coordinates":[[1.0,2],[3,4]]}', id="not-json"),
        pytest.param("LINESTRING (0 0 1, 1 1)", '{"type":"LineString","coordinates":[[0,0,1],[1,1]]}', id="mixed"),
        pytest.param("POINT EMPTY", '{"type":"Point","coordinates":[]}', id="point-empty"),
        pytest.param("LINESTRING (0 0, 1.5 -2)", '{"type":"LineString","coordinates":[[0,0],[1.5,-2]]}', id="line"),
        pytest.param(
            "POLYGON ((0 0, 1 0, 0 1, 0 0), (0.1 0.1, 0.2 0.1, 0.1 0.2, 0.1 0.1))",
            '{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,1],[0,0]],[[0.1,0.1],[0.2,0.1],[0.1,0.2],[0.1,0.1]]]}',
            id="polygon-with-hole",
        ),
        pytest.param("MULTIPOINT (1 2, 3 4)", '{"type":"MultiPoint","coordinates":[[1,2],[3,4]]}', id="multipoint"),
        pytest.param("MULTIPOINT ((1 2), (3 4))", '{"type":"MultiPoint","coordinates":[[1,2],[3,4]]}', id="mp-parens"),
        pytest.param(
            "MULTILINESTRING ((0 0, 1 1), (2 2, 3 3))",
            '{"type":"MultiLineString","coordinates":[[[0,0],[1,1]],[[2,2],[3,3]]]}',
            id="multilinestring",
        ),
        pytest.param(
            "MULTIPOLYGON Z (((0 0 5, 1 0 5, 0 1 5, 0 0 5)), ((5 5 1, 6 5 1, 5 6 1, 5 5 1)))",
            '{"type":"MultiPolygon","coordinates":[[[[0,0,5],[1,0,5],[0,1,5],[0,0,5]]],[[[5,5,1],[6,5,1],[5,6,1],[5,5,1]]]]}',
            id="multipolygon-z",
        ),
        pytest.param("MULTIPOLYGON EMPTY", '{"type":"MultiPolygon","coordinates":[]}', id="multipolygon-empty"),
        pytest.param(
            "GEOMETRYCOLLECTION (POINT (1 2), LINESTRING (0 0, 1 1), GEOMETRYCOLLECTION EMPTY)",
            '{"type":"GeometryCollection","geometries":[{"type":"Point","coordinates":[1,2]},'
            '{"type":"LineString","coordinates":[[0,0],[1,1]]},{"type":"GeometryCollection","geometries":[]}]}',
            id="collection",
        ),
        pytest.param("GEOMETRYCOLLECTION EMPTY", '{"type":"GeometryCollection","geometries":[]}', id="gc-empty"),
    ],
)
def test_valid_wkt(wkt: str, geometry: str) -> None:
    assert wkt_to_geojson(wkt) == geometry
    json.loads(geometry)


@pytest.mark.parametrize(
    "wkt",
    [
        pytest.param("", id="empty-text"),
        pytest.param("FOO (1 2)", id="unknown-type"),
        pytest.param("POINT (1)", id="one-number"),
        pytest.param("POINT (1 2 3 4 5)", id="five-numbers"),
        pytest.param("POINT (1 2", id="unclosed"),
        pytest.param("POINT (1 2) x", id="trailing-text"),
        pytest.param("POINT ((1 2))", id="too-deep"),
        pytest.param("POINT (1 2, 3 4)", id="two-positions"),
        pytest.param("POINT (a b)", id="not-numbers"),
        pytest.param("POINT (nan 1)", id="nan"),
        pytest.param("POINT Z (1 2)", id="z-without-z"),
        pytest.param("POLYGON (0 0, 1 1)", id="polygon-too-shallow"),
        pytest.param("LINESTRING (1 2,, 3 4)", id="double-comma"),
        pytest.param("LINESTRING (1 2, 3 4,)", id="trailing-comma"),
        pytest.param("LINESTRING (1, 2)", id="one-number-positions"),
        pytest.param("LINESTRING ([1 2], 3 4)", id="brackets"),
        pytest.param("POLYGON ((0 0, 1 1),)", id="dangling-comma"),
        pytest.param("GEOMETRYCOLLECTION (POINT (1 2)", id="collection-unclosed"),
    ],
)
def test_invalid_wkt(wkt: str) -> None:
    with pytest.raises(InvalidWkt):
        wkt_to_geojson(wkt)
