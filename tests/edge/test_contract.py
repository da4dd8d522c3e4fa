from __future__ import annotations

import pytest

from edge.contract import Format, parse_request
from edge.errors import InvalidParameter, InvalidPath, MethodNotAllowed, UnknownParameter, UnsupportedFormat


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
