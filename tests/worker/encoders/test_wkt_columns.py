"""A column of WKT → GeoJSON geometries: the byte-level rewrite gives exactly what the parser gives, value by value."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.encoders import wkt_columns
from worker.encoders.wkt import InvalidWkt, wkt_to_geojson
from worker.encoders.wkt_columns import FORMS, geojson_geometries

# Numbers: JSON ones (the rewrite copies them) and WKT-only ones (the parser must normalise those).
JSON_NUMBERS = st.sampled_from(["0", "1", "-1", "0.5", "-2.282487", "54.354144", "1e5", "-3E-2", "10", "1.0"])
OTHER_NUMBERS = st.sampled_from(["+1", "1.", ".5", "01", "-0.", "1E+5"])
SEPARATORS = st.sampled_from([", ", ",", ", ", " , ", ",  "])
WORDS = st.sampled_from(["POINT", "LINESTRING", "POLYGON", "MULTILINESTRING", "MULTIPOLYGON", "MULTIPOINT", "polygon"])
DEPTH = {"POINT": -1, "LINESTRING": 0, "POLYGON": 1, "MULTILINESTRING": 1, "MULTIPOLYGON": 2, "MULTIPOINT": 0}


@st.composite
def wkt_values(draw: st.DrawFn) -> str | None:
    """Mostly well-formed WKT in every spacing the rewrite and the parser may meet, some broken, some null."""
    if draw(st.integers(0, 9)) == 0:
        return None
    word = draw(WORDS)
    dims = draw(st.sampled_from([2, 2, 2, 3, 4]))
    separator = draw(SEPARATORS)
    numbers = draw(st.sampled_from([JSON_NUMBERS] * 4 + [st.one_of(JSON_NUMBERS, OTHER_NUMBERS)]))

    def position() -> str:
        return " ".join(draw(numbers) for _ in range(dims))

    def group(depth: int) -> str:
        if depth < 0:
            return "(" + position() + ")"
        if depth == 0:
            return "(" + separator.join(position() for _ in range(draw(st.integers(1, 4)))) + ")"
        return "(" + separator.join(group(depth - 1) for _ in range(draw(st.integers(1, 3)))) + ")"

    head = word + draw(st.sampled_from([" ", "", " Z " if dims == 3 else " "]))
    text = head + group(DEPTH[word.upper()])
    damage = draw(st.integers(0, 19))
    if damage == 0:
        return text[:-1]  # unbalanced
    if damage == 1:
        return text + "\n"
    if damage == 2:
        return text.replace(" ", " x ", 1)
    return text


def expected(values: list[str | None]) -> tuple[list[str], list[bool]]:
    texts, rejected = [], []
    for value in values:
        try:
            texts.append("null" if value is None else wkt_to_geojson(value))
            rejected.append(False)
        except InvalidWkt:
            texts.append("null")
            rejected.append(True)
    return texts, rejected


@settings(max_examples=300, deadline=None)
@given(st.lists(wkt_values(), max_size=40))
def test_the_column_gives_what_the_parser_gives_value_by_value(values: list[str | None]) -> None:
    texts, rejected = geojson_geometries(pa.array(values, pa.string()))
    assert (texts.to_pylist(), rejected.to_pylist()) == expected(values)


COMMON = [
    "POINT (-0.5 51.25)",
    "POINT(1 2 3)",
    "LINESTRING (0 0, 1.5 -2, 3 4)",
    "LINESTRING(0 0,1 1)",
    "POLYGON ((-2.282487 54.354144, -2.278941 54.348508, -2.284149 54.351976, -2.282487 54.354144))",
    "POLYGON((0 0,1 0,0 1,0 0),(0.1 0.1,0.2 0.1,0.1 0.1))",
    "MULTILINESTRING ((0 0, 1 1), (2 2, 3 3))",
    "MULTIPOLYGON (((0 0, 1 0, 0 0)), ((5 5, 6 5, 5 5), (5.1 5.1, 5.2 5.1, 5.1 5.1)))",
    "MULTIPOLYGON(((0 0 1,1 0 1,0 0 1)))",
]


def test_common_forms_are_rewritten_without_the_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = expected(list(COMMON))

    def refuse(value: str) -> str:
        raise AssertionError(f"parsed value by value: {value!r}")

    monkeypatch.setattr(wkt_columns, "wkt_to_geojson", refuse)
    texts, rejected = geojson_geometries(pa.array(COMMON))
    assert (texts.to_pylist(), rejected.to_pylist()) == answers


def test_every_form_has_a_pattern_its_own_values_match() -> None:
    # Each form's pattern must accept the spacing its rewrite assumes, and no other form's head.
    assert len({form.pattern for form in FORMS}) == len(FORMS)
    assert {form.kind for form in FORMS} == {"Point", "LineString", "Polygon", "MultiLineString", "MultiPolygon"}


def test_rows_keep_their_places_among_nulls_and_fallbacks() -> None:
    values: list[Any] = [
        None,
        "POLYGON ((0 0, 1 0, 0 0))",
        "POINT Z (1 2 3)",
        None,
        "garbage",
        "POINT (5 6)",
        "LINESTRING(1 2,3 4)",
    ]
    texts, rejected = geojson_geometries(pa.chunked_array([values[:3], values[3:]]).combine_chunks())
    assert texts.to_pylist() == [
        "null",
        '{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]}',
        '{"type":"Point","coordinates":[1,2,3]}',
        "null",
        "null",
        '{"type":"Point","coordinates":[5,6]}',
        '{"type":"LineString","coordinates":[[1,2],[3,4]]}',
    ]
    assert rejected.to_pylist() == [False, False, False, False, True, False, False]


def test_an_empty_column() -> None:
    texts, rejected = geojson_geometries(pa.array([], pa.string()))
    assert (len(texts), len(rejected)) == (0, 0)
