from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.canonical import canonical_query, canonical_uri
from edge.contract import Format, parse_request
from edge.errors import (
    InvalidParameter,
    InvalidPath,
    MethodNotAllowed,
    RequestError,
    UnknownParameter,
    UnsupportedFormat,
)


def test_spellings_of_one_request_are_equal() -> None:
    a = parse_request("GET", "/Conservation-Area.CSV", "organization-entity=2,1&fields=name")
    b = parse_request("GET", "/conservation-area.csv", "organisation-entity=1&ORGANISATION-ENTITY=2&fields=name")
    assert a == b
    assert a.format is Format.CSV
    assert a.filters == (("organisation-entity", ("1", "2")),)


@pytest.mark.parametrize(
    ("method", "path", "query", "error"),
    [
        pytest.param("POST", "/x.csv", "", MethodNotAllowed, id="post"),
        pytest.param("GET", "/x.xlsx", "", UnsupportedFormat, id="unknown-format"),
        pytest.param("GET", "/%2e%2e%2fetc.csv", "", InvalidPath, id="encoded-traversal"),
        pytest.param("GET", "/x.csv", "organization_entity=1", UnknownParameter, id="misspelled-filter"),
        pytest.param("GET", "/x.csv", "limit=0", InvalidParameter, id="limit-zero"),
    ],
)
def test_bad_requests_are_refused(method: str, path: str, query: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_request(method, path, query)


@pytest.mark.parametrize(
    ("path", "query", "error"),
    [
        pytest.param("/" + "a" * 101 + ".csv", "", InvalidPath, id="dataset-too-long"),
        pytest.param("/-a.csv", "", InvalidPath, id="dataset-leading-dash"),
        pytest.param("/a.b.csv", "", InvalidPath, id="dot-in-dataset"),
        pytest.param("/a%2fb.csv", "", InvalidPath, id="encoded-slash"),
        pytest.param("/.csv", "", InvalidPath, id="empty-dataset"),
        pytest.param("/caf\u00e9.csv", "", InvalidPath, id="non-ascii-dataset"),
        pytest.param("/x.csv", "limit=100000001", InvalidParameter, id="limit-too-big"),
        pytest.param("/x.csv", "limit=1e3", InvalidParameter, id="limit-not-digits"),
        pytest.param("/x.csv", "entity=" + ",".join(map(str, range(101))), InvalidParameter, id="too-many-values"),
        pytest.param("/x.csv", "reference=" + "a" * 201, InvalidParameter, id="value-too-long"),
        pytest.param("/x.csv", "reference=a%0Ab", InvalidParameter, id="control-character"),
        pytest.param("/x.csv", "fields=a.b", InvalidParameter, id="bad-field-name"),
        pytest.param("/x.csv", "entity=%zz", InvalidParameter, id="bad-percent"),
        pytest.param("/x.csv", "entity=%ff", InvalidParameter, id="not-utf8"),
    ],
)
def test_more_bad_requests_are_refused(path: str, query: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_request("GET", path, query)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("entity=", "", id="empty-value-is-absent"),
        pytest.param("entity=1&&entity=2,,", "entity=1,2", id="empty-parts"),
        pytest.param("limit=007", "limit=7", id="leading-zeros"),
        pytest.param("fields=b,A,b&fields=c", "fields=b,a,c", id="fields-keep-order"),
    ],
)
def test_accepted_spellings(query: str, expected: str) -> None:
    assert canonical_query(parse_request("GET", "/x.csv", query)) == expected


@given(method=st.sampled_from(["GET", "HEAD", "PUT"]), path=st.text(max_size=40), query=st.text(max_size=60))
@settings(max_examples=200, deadline=None)
def test_arbitrary_input_is_a_request_or_a_typed_error(method: str, path: str, query: str) -> None:
    status, request = 0, None
    try:
        request = parse_request(method, "/" + path, query)
    except RequestError as error:
        status = error.status
    if request is None:
        assert 400 <= status < 500
    else:
        assert parse_request(method, canonical_uri(request), canonical_query(request)) == request
