from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.canonical import canonical_query, canonical_uri
from edge.contract import DownloadRequest, Format, parse_request
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


def test_a_request_is_frozen_hashable_and_equal_by_fields_only() -> None:
    computed = DownloadRequest(dataset="tree", format=Format.CSV, filters=(("entity", ("1",)),))
    fresh = DownloadRequest(dataset="tree", format=Format.CSV, filters=(("entity", ("1",)),))
    assert computed.canonical == "/tree.csv?entity=1"
    # the cached canonical form lives in the instance __dict__ and takes no part in equality, hash or repr
    assert "canonical" in vars(computed)
    assert "canonical" not in vars(fresh)
    assert computed == fresh
    assert hash(computed) == hash(fresh)
    assert len({computed, fresh, parse_request("GET", "/tree.csv", "entity=1")}) == 1
    assert "canonical" not in repr(computed)
    with pytest.raises(dataclasses.FrozenInstanceError):
        computed.dataset = "other"  # type: ignore[misc]
    assert dataclasses.replace(computed, limit=5).canonical == "/tree.csv?entity=1&limit=5"


def test_defaults_and_method_are_not_in_the_canonical_form() -> None:
    head = DownloadRequest(method="HEAD", dataset="tree", format=Format.PARQUET)
    assert (head.filters, head.fields, head.limit) == ((), (), None)
    assert head.is_whole_source
    assert not head.is_filtered
    assert head != DownloadRequest(dataset="tree", format=Format.PARQUET)
    assert head.canonical == DownloadRequest(dataset="tree", format=Format.PARQUET).canonical


def test_direct_construction_checks_method_and_format() -> None:
    assert DownloadRequest(dataset="tree", format="parquet").format is Format.PARQUET  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="GET or HEAD"):
        DownloadRequest(method="PUT", dataset="tree", format=Format.CSV)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="xlsx"):
        DownloadRequest(dataset="tree", format="xlsx")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        DownloadRequest(dataset="tree", format=Format.CSV, surprise=1)  # type: ignore[call-arg]


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
