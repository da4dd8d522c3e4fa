"""Properties of the canonical form (DESIGN §2), on requests drawn at random and spelled many ways."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from edge.canonical import canonical_query, canonical_uri, canonicalise
from edge.contract import ALIASES, FILTER_PARAMETERS, DownloadRequest, Format, parse_request

_SETTINGS = settings(max_examples=150, deadline=None)
# Characters a query value may hold bare; everything else (and these, at random) is percent-encoded.
_BARE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$'()*:@/?;")

datasets = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,12}[a-z0-9])?", fullmatch=True)
values = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp", "Cf", "Co", "Cn"), exclude_characters=","),
    min_size=1,
    max_size=12,
).filter(str.isprintable)
field_names = st.from_regex(r"[a-z0-9_-]{1,12}", fullmatch=True)


@st.composite
def requests(draw: st.DrawFn) -> DownloadRequest:
    """A valid request, built directly in canonical order."""
    columns = draw(st.lists(st.sampled_from(FILTER_PARAMETERS), unique=True, max_size=3))
    filters = tuple(
        (column, tuple(sorted(draw(st.sets(values, min_size=1, max_size=4))))) for column in sorted(columns)
    )
    return DownloadRequest(
        dataset=draw(datasets),
        format=draw(st.sampled_from(Format)),
        filters=filters,
        fields=tuple(draw(st.lists(field_names, unique=True, max_size=4))),
        limit=draw(st.none() | st.integers(1, 100_000_000)),
    )


def _encode(draw: st.DrawFn, text: str, *, query: bool) -> str:
    """Percent-encode ``text`` some random way: upper or lower hex, bare where safe, '+' or %20 for a space."""
    out = []
    for char in text:
        if char == " " and query and draw(st.booleans()):
            out.append("+")
        elif char in _BARE and draw(st.booleans()):
            out.append(char)
        else:
            hex_case = draw(st.sampled_from([str.upper, str.lower]))
            out.extend(hex_case(f"%{byte:02X}") for byte in char.encode("utf-8"))
    return "".join(out)


def _recase(draw: st.DrawFn, text: str) -> str:
    return "".join(c.upper() if draw(st.booleans()) else c for c in text)


@st.composite
def spellings(draw: st.DrawFn, request: DownloadRequest) -> tuple[str, str]:
    """One of the many ``(path, query)`` spellings of ``request``."""
    path = "/" + _encode(draw, _recase(draw, request.dataset), query=False) + "." + _recase(draw, request.format.value)
    params: list[tuple[str, str]] = []
    for column, column_values in request.filters:
        names = [column, *(alias for alias, target in ALIASES.items() if target == column)]
        shuffled = draw(st.permutations([*column_values, *draw(st.lists(st.sampled_from(column_values), max_size=2))]))
        cut = draw(st.integers(1, len(shuffled)))
        for group in (shuffled[:cut], shuffled[cut:]):
            if group:
                name = _encode(draw, _recase(draw, draw(st.sampled_from(names))), query=True)
                params.append((name, ",".join(_encode(draw, value, query=True) for value in group)))
        if draw(st.booleans()):
            params.append((column, ""))  # an empty value is an absent parameter
    order = draw(st.permutations(range(len(params) + 2)))
    ordered = [params[i] for i in order if i < len(params)]
    if request.fields:
        # fields keep the user's order: duplicates after the first occurrence are dropped
        fields = [*request.fields, *draw(st.lists(st.sampled_from(request.fields), max_size=2))]
        ordered.insert(draw(st.integers(0, len(ordered))), ("Fields", ",".join(_recase(draw, f) for f in fields)))
    if request.limit is not None:
        ordered.append((_recase(draw, "limit"), "0" * draw(st.integers(0, 2)) + str(request.limit)))
    return path, "&".join(f"{name}={value}" for name, value in ordered)


@given(st.data())
@_SETTINGS
def test_every_spelling_gives_the_one_canonical_form(data: st.DataObject) -> None:
    request = data.draw(requests())
    path, query = data.draw(spellings(request))
    parsed = parse_request("GET", path, query)
    assert parsed == request
    assert parsed.canonical == canonicalise(request)


@given(requests())
@_SETTINGS
def test_the_canonical_form_parses_back_and_is_idempotent(request: DownloadRequest) -> None:
    canonical = canonicalise(request)
    again = parse_request("GET", canonical_uri(request), canonical_query(request))
    assert again == request
    assert again.canonical == canonical
    assert canonical.isascii()
    assert " " not in canonical


@given(requests(), requests())
@_SETTINGS
def test_distinct_requests_have_distinct_forms(a: DownloadRequest, b: DownloadRequest) -> None:
    assume(a != b)
    assert canonicalise(a) != canonicalise(b)


def test_encoding_variants_of_one_value() -> None:
    spellings = ["caf%C3%A9+x", "caf%c3%a9%20x", "caf\u00e9 x", "caf%C3%A9%20x"]
    forms = {parse_request("GET", "/t.csv", f"reference={value}").canonical for value in spellings}
    assert forms == {"/t.csv?reference=caf%C3%A9%20x"}
