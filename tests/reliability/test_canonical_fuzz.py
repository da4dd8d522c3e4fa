"""A bounded fuzz target for the canonicaliser (DESIGN §2, §7): idempotent, and canonical form == parse round trip.

Runs a fixed number of examples per CI run (no wall-clock budget, so the run is deterministic in size).
"""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.canonical import canonicalise
from edge.contract import Format, parse_request
from edge.errors import RequestError
from tests.reliability.strategies import paths, queries, valid_requests

FUZZ = settings(max_examples=500, deadline=None)
values = st.text(st.characters(blacklist_characters=",", blacklist_categories=("Cc", "Cs")), min_size=1, max_size=12)


@FUZZ
@given(target=st.one_of(st.tuples(paths(), queries()), valid_requests()))
def test_canonicalising_is_idempotent(target: tuple[str, str]) -> None:
    path, query = target
    try:
        request = parse_request("GET", path, query)
    except RequestError:
        return
    uri, _, canonical_query = request.canonical.partition("?")
    again = parse_request("HEAD", uri, canonical_query)
    assert canonicalise(again) == request.canonical
    assert (again.dataset, again.format, again.filters, again.fields, again.limit) == (
        request.dataset,
        request.format,
        request.filters,
        request.fields,
        request.limit,
    )


@FUZZ
@given(
    fmt=st.sampled_from(list(Format)),
    filters=st.dictionaries(st.sampled_from(("entity", "quality", "reference")), st.lists(values, min_size=1)),
    fields=st.lists(st.from_regex(r"[a-z0-9_-]{1,12}", fullmatch=True), max_size=4),
    limit=st.none() | st.integers(1, 100_000_000),
)
def test_the_canonical_form_parses_back_to_the_same_request(
    fmt: Format, filters: dict[str, list[str]], fields: list[str], limit: int | None
) -> None:
    """Any request the contract can express, written in canonical form, parses back to itself; distinct values
    never merge (no two requests share a canonical form unless they are equal)."""
    parts = [f"{column}={quote(','.join(items), safe=',')}" for column, items in filters.items()]
    parts += [f"fields={','.join(fields)}"] if fields else []
    parts += [f"limit={limit}"] if limit is not None else []
    try:
        request = parse_request("GET", f"/d.{fmt.value}", "&".join(parts))
    except RequestError as error:
        refused: RequestError | None = error
    else:
        refused = None
    if refused is not None:
        assert refused.code in ("invalid-parameter", "uri-too-long")  # a value over 200 characters, or too long a URI
        return
    assert {column: set(items) for column, items in request.filters} == {c: set(v) for c, v in filters.items()}
    uri, _, query = request.canonical.partition("?")
    assert parse_request("GET", uri, query) == request
