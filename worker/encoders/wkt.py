"""Well-known text → GeoJSON geometry text (RFC 7946), by a small pure parser: no shapely, no GEOS.

Handles POINT, LINESTRING, POLYGON, MULTIPOINT (with or without parentheses round each point),
MULTILINESTRING, MULTIPOLYGON and GEOMETRYCOLLECTION; ``Z`` coordinates are kept and ``M`` values dropped
(GeoJSON has no measures); ``EMPTY`` becomes empty ``coordinates`` (or ``geometries``); an EWKT
``SRID=…;`` prefix is ignored. Numbers are copied digit for digit when they are already JSON numbers.
The parser checks structure, not geometry: rings are not closed or re-oriented.
"""

from __future__ import annotations

import json
import re
from typing import TypeAlias

_HEAD = re.compile(r"\s*(?:SRID=\d+;)?\s*([A-Za-z]+?)\s*(ZM|Z|M)?\s*(EMPTY\s*$|\()", re.IGNORECASE)
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_WKT_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
# A position sequence made only of these characters holds numbers only: the fast path may try json.loads.
_NOT_NUMERIC = re.compile(r"[^0-9.eE+\- ,\t\n\r]")
_TOKENS = re.compile(r"\(|\)|[^()]+")
_TYPES = {
    "POINT": "Point",
    "LINESTRING": "LineString",
    "POLYGON": "Polygon",
    "MULTIPOINT": "MultiPoint",
    "MULTILINESTRING": "MultiLineString",
    "MULTIPOLYGON": "MultiPolygon",
    "GEOMETRYCOLLECTION": "GeometryCollection",
}
# Parenthesis depth of each type's coordinates: POINT (x y) is a leaf, POLYGON ((…), (…)) a group of leaves.
_DEPTH = {"Point": 0, "LineString": 0, "Polygon": 1, "MultiPoint": 1, "MultiLineString": 1, "MultiPolygon": 2}

_Tree: TypeAlias = "str | list[_Tree]"


class InvalidWkt(ValueError):
    """The text is not WKT this parser understands."""


def wkt_to_geojson(text: str) -> str:
    """The GeoJSON geometry object of one WKT value, as compact JSON text, or raise :class:`InvalidWkt`.

    >>> wkt_to_geojson("POLYGON Z ((0 0 1, 1 0 1, 0 1 1, 0 0 1))")
    '{"type":"Polygon","coordinates":[[[0,0,1],[1,0,1],[0,1,1],[0,0,1]]]}'
    """
    head = _HEAD.match(text)
    if head is None or head.group(1).upper() not in _TYPES:
        raise InvalidWkt("not a WKT geometry")
    kind = _TYPES[head.group(1).upper()]
    dims = (head.group(2) or "").upper()
    body = text[head.start(3) :]
    if kind == "GeometryCollection":
        members = [] if head.group(3)[0] in "Ee" else [wkt_to_geojson(part) for part in _split_members(body)]
        return '{"type":"GeometryCollection","geometries":[' + ",".join(members) + "]}"
    if head.group(3)[0] in "Ee":
        return '{"type":"' + kind + '","coordinates":[]}'
    tokens = _TOKENS.findall(body)
    tree, end = _parse_group(tokens, 0)
    if "".join(tokens[end:]).strip():
        raise InvalidWkt("text after the geometry")
    if kind == "MultiPoint" and isinstance(tree, str):
        tree = list(tree.split(","))  # MULTIPOINT (1 2, 3 4): points without parentheses
    return '{"type":"' + kind + '","coordinates":' + _coordinates(tree, _DEPTH[kind], dims, kind) + "}"


def _parse_group(tokens: list[str], index: int) -> tuple[_Tree, int]:
    """Parse ``( leaf )`` or ``( group, group, … )`` starting at ``tokens[index] == "("``."""
    if index >= len(tokens) or tokens[index] != "(":
        raise InvalidWkt("expected '('")
    index += 1
    if index < len(tokens) and tokens[index] not in "()":
        leaf = tokens[index]
        if index + 1 < len(tokens) and tokens[index + 1] == ")":
            return leaf, index + 2
    children: list[_Tree] = []
    while True:
        child, index = _parse_group(tokens, index)
        children.append(child)
        if index < len(tokens) and tokens[index] == ")":
            return children, index + 1
        if index + 1 < len(tokens) and tokens[index].strip() == ",":
            index += 1
            continue
        raise InvalidWkt("expected ',' or ')'")


def _coordinates(tree: _Tree, depth: int, dims: str, kind: str) -> str:
    if depth == 0:
        if not isinstance(tree, str):
            raise InvalidWkt("unexpected nesting")
        fast = _fast_sequence(tree) if kind != "Point" and not dims else None
        if fast is not None:
            return fast
        positions = [_position(point, dims) for point in tree.split(",")]
        if kind == "Point" and len(positions) != 1:
            raise InvalidWkt("a point has one position")
        return positions[0] if kind == "Point" else "[" + ",".join(positions) + "]"
    if isinstance(tree, str):
        raise InvalidWkt("missing parentheses")
    inner = "Point" if kind == "MultiPoint" else kind
    return "[" + ",".join(_coordinates(child, depth - 1, dims, inner) for child in tree) + "]"


def _fast_sequence(tree: str) -> str | None:
    """``1 2, 3 4`` → ``[[1,2],[3,4]]`` with C-speed string operations, when every number is already JSON and
    every position has 2 or 3 of them (most real WKT); None sends the text to the general path.
    """
    if _NOT_NUMERIC.search(tree):
        return None
    text = "[[" + ",".join(tree.replace(",", " , ").split()).replace(",,,", "],[") + "]]"
    try:
        positions = json.loads(text)
    except ValueError:
        return None
    return text if all(2 <= len(position) <= 3 for position in positions) else None


def _position(point: str, dims: str) -> str:
    numbers = point.split()
    if not 2 <= len(numbers) <= 4:
        raise InvalidWkt("a position has 2 to 4 numbers")
    # GeoJSON has x, y and optionally z: drop a measure (M, or the fourth of ZM).
    keep = 2 if dims == "M" or (dims == "" and len(numbers) == 2) else 3
    if (dims == "M" and len(numbers) != 3) or (dims in ("Z", "ZM") and len(numbers) != 1 + len(dims) + 1):
        raise InvalidWkt("position does not match its dimensions")
    return "[" + ",".join(_number(n) for n in numbers[:keep]) + "]"


def _number(text: str) -> str:
    if _JSON_NUMBER.fullmatch(text):
        return text
    if not _WKT_NUMBER.fullmatch(text):
        raise InvalidWkt("not a number")
    return repr(float(text))


def _split_members(body: str) -> list[str]:
    """The member geometries of ``( g1, g2, … )``, split at the top-level commas."""
    text = body.strip()
    if not (text.startswith("(") and text.endswith(")")):
        raise InvalidWkt("a collection is parenthesised")
    members, depth, start = [], 0, 1
    for index, char in enumerate(text[1:-1], start=1):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            members.append(text[start:index])
            start = index + 1
    members.append(text[start:-1])
    return members
