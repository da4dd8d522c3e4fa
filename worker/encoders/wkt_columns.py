"""A whole column of WKT → GeoJSON geometry text: byte-level rewriting for the common forms, the parser for the rest.

Most WKT is plain 2D or 3D POINT, LINESTRING, POLYGON, MULTILINESTRING or MULTIPOLYGON whose numbers are already
JSON numbers. For those, GeoJSON is a fixed rewrite of the text: a space inside a position becomes ``,``, a comma
between positions ``],[`` and each parenthesis a bracket (two at the innermost level). Values that a strict
regular expression proves to have one of those forms are rewritten all at once, with bytes-level replacements
over the concatenated values (C speed, no Python object per value); everything else (Z/M tags, ``EMPTY``,
``SRID=``, MULTIPOINT, collections, other spacing, numbers like ``1.`` or ``+1``) goes through
:func:`worker.encoders.wkt.wkt_to_geojson` value by value. Both give the same bytes (tests/worker/encoders/
test_wkt_columns.py); on the benchmark's polygons the rewrite is several times faster (docs/performance.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import pyarrow as pa
import pyarrow.compute as pc

from worker.encoders.chunking import TEXT, Column, concat, fill, text_bytes
from worker.encoders.wkt import InvalidWkt, wkt_to_geojson

_NUMBER = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?"  # a JSON number, copied as it is
_POSITION = rf"{_NUMBER} {_NUMBER}(?: {_NUMBER})?"
_SPACE_TO_COMMA = bytes.maketrans(b" ", b",")
# The outermost parentheses are cut off and their brackets added around each value; inside, after the separators
# are rewritten, groups are separated by ``)],[(`` (one more parenthesis a side per level above the innermost):
# these replacements, in order, by the depth of the innermost sequences.
_GROUPS: dict[int, tuple[tuple[bytes, bytes], ...]] = {
    1: ((b")],[(", b"]],[["),),
    2: ((b"))],[((", b"]]],[[["), (b")],[(", b"]],[[")),
}


@dataclass(frozen=True)
class _Form:
    """One textual form of one geometry type: its GeoJSON type, WKT word, nesting depth and spacing."""

    kind: str
    word: str
    depth: int  # -1: a point; 0: one sequence of positions; 1: sequences of those; 2: one level more
    space_after_word: bool
    comma: str  # ", " or ","

    @property
    def head(self) -> str:
        return self.word + (" " if self.space_after_word else "")

    @property
    def pattern(self) -> str:
        """An RE2 pattern matching exactly the values of this form, whole."""
        body = rf"\({_POSITION}\)"
        if self.depth >= 0:
            body = rf"\({_POSITION}(?:{self.comma}{_POSITION})*\)"
        for _ in range(max(0, self.depth)):
            body = rf"\({body}(?:{self.comma}{body})*\)"
        return "^" + self.head.replace(" ", r"\ ") + body + "$"

    def rewrite(self, values: Column) -> Column:
        """The GeoJSON geometry text of ``values`` (all of this form, none null)."""
        outer = max(self.depth, 0) + 1  # parentheses around the innermost positions: ( ), (( )), ((( )))
        inner = pc.utf8_slice_codeunits(values, len(self.head) + outer, -outer)
        data = text_bytes(concat(inner, "\n"))
        if self.comma == ",":  # commas first: once spaces are commas too, positions could not be told apart
            data = data.replace(b",", b"],[").translate(_SPACE_TO_COMMA)
        else:
            data = data.translate(_SPACE_TO_COMMA)
            if self.comma:
                data = data.replace(b",,", b"],[")
        for old, new in _GROUPS.get(self.depth, ()):
            data = data.replace(old, new)
        lines = pc.list_flatten(pc.split_pattern(pa.array([data], pa.large_binary()).cast(TEXT), "\n"))
        opened = "[" * (outer + (self.depth >= 0))  # a sequence of positions is a list of lists: one more
        head = '{"type":"' + self.kind + '","coordinates":' + opened
        return concat(head, lines.slice(0, len(lines) - 1), "]" * len(opened) + "}")


_TYPES = (
    ("Point", "POINT", -1),
    ("LineString", "LINESTRING", 0),
    ("Polygon", "POLYGON", 1),
    ("MultiLineString", "MULTILINESTRING", 1),
    ("MultiPolygon", "MULTIPOLYGON", 2),
)
FORMS = tuple(
    _Form(kind, word, depth, space, comma)
    for kind, word, depth in _TYPES
    for space in (True, False)
    for comma in ((", ", ",") if depth >= 0 else ("",))
)


def geojson_geometries(column: Column) -> tuple[Column, Column]:
    """Each value's GeoJSON geometry text (``null`` for a null or rejected value) and whether it was rejected.

    >>> texts, rejected = geojson_geometries(pa.array(["POINT (1 2)", None, "POINT (x)", "POINT Z (1 2 3)"]))
    >>> texts.to_pylist()
    ['{"type":"Point","coordinates":[1,2]}', 'null', 'null', '{"type":"Point","coordinates":[1,2,3]}']
    >>> rejected.to_pylist()
    [False, False, True, False]
    """
    column = column.cast(TEXT)
    left = pc.is_valid(column)  # values not yet rewritten
    parts: list[tuple[Column, Column, Column]] = []  # (row indices, geometry texts, rejected flags)
    for form in FORMS:
        candidates = pc.and_kleene(left, pc.starts_with(column, form.head + "("))
        if not pc.any(candidates).as_py():
            continue
        fits = pc.match_substring_regex(column, form.pattern)  # null where the value is null: and_kleene → false
        matched = pc.and_kleene(candidates, cast(Any, fits))
        if pc.any(matched).as_py():
            rows = pc.indices_nonzero(matched)
            parts.append((rows, form.rewrite(pc.filter(column, matched)), _false(len(rows))))
            left = pc.and_kleene(left, pc.invert(matched))
    rest = pc.indices_nonzero(left)
    parts.append((rest, *_parsed(pc.take(column, rest).to_pylist())))
    nulls = pc.indices_nonzero(pc.is_null(column))
    parts.append((nulls, fill(pa.nulls(len(nulls), TEXT), "null"), _false(len(nulls))))
    order = pc.sort_indices(pa.concat_arrays([rows for rows, _, _ in parts]))  # each row once: a permutation
    geometry = pc.take(pa.concat_arrays([texts for _, texts, _ in parts]), order)
    return geometry, pc.take(pa.concat_arrays([flags for _, _, flags in parts]), order)


def _false(length: int) -> Column:
    return pc.is_valid(pa.nulls(length, pa.bool_()))


def _parsed(values: list[Any]) -> tuple[Column, Column]:
    texts: list[str] = []
    rejected: list[bool] = []
    for value in values:
        try:
            texts.append(wkt_to_geojson(value))
            rejected.append(False)
        except InvalidWkt:
            texts.append("null")
            rejected.append(True)
    return pa.array(texts, TEXT), pa.array(rejected, pa.bool_())
