"""Hypothesis strategies for hostile requests: paths, query strings and header values an attacker controls.

Inputs are built from pieces that have broken URL handlers before (traversal, encoded separators, overlong
UTF-8, double encoding, NUL and control characters, CR/LF, backslashes, bidi overrides) mixed with valid
names and parameters, so a good share of the generated requests is valid and reaches the data.
"""

from __future__ import annotations

from hypothesis import strategies as st

DATASETS = ("tree", "conservation-area", "title-boundary", "missing-dataset")
FORMATS = ("csv", "json", "ndjson", "parquet", "geojson", "CSV", "xml", "")
PARAMETERS = (
    "entity",
    "organisation-entity",
    "organization-entity",
    "Organisation-Entity",
    "reference",
    "quality",
    "fields",
    "limit",
    "organisation_entity",
    "%6cimit",
    "",
)
HOSTILE = (
    "..",
    "../",
    "..\\",
    "%2e%2e%2f",
    "%2E%2E%5C",
    "%252e%252e%252f",
    "%2f",
    "%5c",
    "\\",
    "/",
    "//",
    "%00",
    "\x00",
    "\r\n",
    "%0d%0a",
    "\n",
    "\t",
    "%09",
    "%c0%ae",
    "%c0%af",
    "%e0%80%ae",
    "%ff",
    "%fe%ff",
    "%",
    "%g0",
    "%2",
    "+",
    "&",
    "=",
    "?",
    "#",
    ";",
    ",",
    '"',
    "'",
    "<script>",
    "\u202e",
    "\ufeff",
    "é",
    "%C3%A9",
    "東京",
    "🌳",
    "\x7f",
    "\x1b[31m",
    "Set-Cookie: a=b",
    "%0d%0aSet-Cookie:%20a=b",
    " ",
    "%20",
)
# Values that exist in the samples, so filters sometimes match rows.
VALUES = ("600006", "600017", "600004", "44000034", "authoritative", "some", "REF-34", "", "name", "entity", "1", "-1")

piece = st.one_of(
    st.sampled_from(HOSTILE),
    st.sampled_from(DATASETS),
    st.sampled_from(VALUES),
    st.text(max_size=8),
    st.binary(max_size=6).map(lambda raw: raw.decode("latin-1")),
)
text = st.lists(piece, max_size=5).map("".join)


def _hostile(draw: st.DrawFn) -> bool:
    """True one time in three: most parts stay valid so that whole requests are often valid too."""
    return draw(st.sampled_from((False, False, False, True)))


@st.composite
def paths(draw: st.DrawFn) -> str:
    """``/{dataset}.{format}`` with hostile pieces around or instead of the parts."""
    if _hostile(draw):
        dataset = draw(text)
    else:
        dataset = draw(st.sampled_from(DATASETS))
        dataset = draw(st.sampled_from((dataset, dataset, dataset.upper(), f"{dataset}%2e", f"..%2f{dataset}")))
    fmt = draw(text) if _hostile(draw) else draw(st.sampled_from(FORMATS))
    prefix = draw(st.sampled_from(("/", "", "//", "/../", "\\"))) if _hostile(draw) else "/"
    return f"{prefix}{dataset}.{fmt}"


@st.composite
def queries(draw: st.DrawFn) -> str:
    """A query string (without ``?``): mostly known names with hostile or valid values."""
    pairs = []
    for _ in range(draw(st.integers(0, 4))):
        name = draw(text) if _hostile(draw) else draw(st.sampled_from(PARAMETERS))
        value = draw(text) if _hostile(draw) else draw(st.sampled_from(VALUES))
        if name == "limit" and draw(st.booleans()):
            value = str(draw(st.integers(-1, 10**8 + 1)))
        pairs.append(f"{name}={value}" if draw(st.integers(0, 9)) else name)
    return "&".join(pairs)


# Whole-request shapes that stress the limits rather than the parser's corners.
huge_queries = st.sampled_from(
    (
        "entity=" + "1" * 10_000,
        "&".join(["entity=1"] * 3_000),
        "&".join(f"entity={i}" for i in range(150)),
        "&".join(["x=1"] * 2_000),
        "fields=" + ",".join(f"c{i}" for i in range(150)),
        "quality=" + "a" * 201,
        "reference=" + "%41" * 700,
        "limit=" + "9" * 30,
        "limit=1&limit=2",
    )
)

header_values = st.one_of(
    st.sampled_from(("gzip", "gzip, deflate, br", "identity", "*", 'W/"x", "y"', "gzip;q=0", "")),
    text,
    st.sampled_from(("gzip\r\nSet-Cookie: a=b", "\x00gzip", "gzip\n", "\r\n\r\n<html>", "Root=1-0-0;\r\n")),
)


def _respell(draw: st.DrawFn, value: str) -> str:
    """The same text, some characters percent-encoded (upper or lower case hex), as a client might send it."""
    out = []
    for char in value:
        if draw(st.sampled_from((False, False, False, True))):
            encoded = "".join(f"%{byte:02X}" for byte in char.encode())
            out.append(encoded if draw(st.booleans()) else encoded.lower())
        else:
            out.append(char)
    return "".join(out)


@st.composite
def valid_requests(draw: st.DrawFn) -> tuple[str, str]:
    """A valid ``(path, query)`` in an unusual spelling: case, encodings, aliases, repeats, empty values."""
    dataset = draw(st.sampled_from(DATASETS[:3]))
    dataset = dataset.upper() if draw(st.booleans()) else dataset
    fmt = draw(st.sampled_from(("csv", "json", "ndjson", "geojson", "parquet", "Csv")))
    pairs = []
    for name, choices in (
        ("organisation-entity", ("600006", "600017", "600004", "600008", "1")),
        ("quality", ("authoritative", "some", "usable")),
        ("reference", ("REF-34", "REF-28", "REF-4795")),
    ):
        if draw(st.booleans()):
            values = draw(st.lists(st.sampled_from(choices), min_size=1, max_size=3))
            spelled = name if name != "organisation-entity" else draw(st.sampled_from((name, "organization-entity")))
            spelled = spelled.upper() if draw(st.booleans()) else spelled
            if draw(st.booleans()):
                pairs.append(f"{_respell(draw, spelled)}={_respell(draw, ','.join(values))}")
            else:
                pairs.extend(f"{spelled}={_respell(draw, value)}" for value in values)
    if draw(st.booleans()):
        pairs.append(
            "fields=" + ",".join(draw(st.lists(st.sampled_from(("entity", "name", "point", "json")), min_size=1)))
        )
    if draw(st.booleans()) or fmt == "parquet":
        pairs.append(f"limit={draw(st.integers(1, 400))}")
    pairs.extend(draw(st.lists(st.sampled_from(("quality=", "limit=", "fields=", "")), max_size=2)))
    return f"/{_respell(draw, dataset)}.{fmt}", "&".join(draw(st.permutations(pairs)))
