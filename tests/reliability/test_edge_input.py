"""Hostile input through the request contract and the edge handler (viewer-request and origin-request events).

Every input is refused with a 4xx problem+json, or accepted and rewritten to its canonical form; no exception
escapes, and no generated header carries a character that could split or smuggle a header.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from edge.config import EdgeConfig
from edge.contract import parse_request
from edge.errors import RequestError
from edge.handler import handle
from tests.edge.events import load_event
from tests.reliability.checks import SAFE_HEADER, check_headers, check_problem
from tests.reliability.strategies import header_values, huge_queries, paths, queries

CONFIG = EdgeConfig.from_dict(
    {
        "workers": {"eu-west-2": "eu2abcdefghijklmnopqrstuvwxyz0123.lambda-url.eu-west-2.on.aws"},
        "default_worker_region": "eu-west-2",
        "source_base_url": "https://data.example.org/source/",
    }
)
METHODS = st.sampled_from(("GET",) * 12 + ("HEAD",) * 4 + ("POST", "get", "DELETE", "GET\r\n", ""))
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
query_strings = st.one_of(queries(), queries(), queries(), huge_queries)


def _check_refusal(error: RequestError) -> None:
    event(f"refused: {error.code}")
    assert error.status in (400, 405, 414)
    assert SAFE_HEADER.fullmatch(error.detail)  # ASCII, no CR, LF or NUL: input is quoted, never raw


def _parse_or_error(method: str, path: str, query: str) -> None:
    try:
        request = parse_request(method, path, query)
    except RequestError as error:
        _check_refusal(error)
        return
    event("accepted")
    canonical = request.canonical
    assert SAFE_HEADER.fullmatch(canonical)
    uri, _, canonical_query = canonical.partition("?")
    again = parse_request(request.method, uri, canonical_query)
    assert again == request
    assert again.canonical == canonical


@FUZZ
@given(method=METHODS, path=paths(), query=query_strings)
def test_the_contract_refuses_or_canonicalises_any_request(method: str, path: str, query: str) -> None:
    _parse_or_error(method, path, query)


def _event(kind: str, method: str, path: str, query: str, header: str) -> dict[str, Any]:
    name = "cloudfront-viewer-request-csv-filtered" if kind == "viewer" else "cloudfront-origin-request-csv-filtered"
    event = load_event(name)
    request = event["Records"][0]["cf"]["request"]
    request.update(method=method, uri=path, querystring=query)
    for lowered, key in (("accept-encoding", "Accept-Encoding"), ("if-none-match", "If-None-Match")):
        request["headers"][lowered] = [{"key": key, "value": header}]
    # Our own headers, forged by the viewer: the edge must drop or overwrite them.
    request["headers"]["x-download-cache-key"] = [{"key": "X-Download-Cache-Key", "value": header}]
    request["headers"]["x-download-trace"] = [{"key": "X-Download-Trace", "value": header}]
    return event


def _check_result(kind: str, result: dict[str, Any], *, method: str, path: str, query: str, header: str) -> None:
    event(f"answered {result['status']}" if "status" in result else "forwarded")
    if "status" in result:
        headers = [(entry["key"], entry["value"]) for entries in result["headers"].values() for entry in entries]
        check_headers(headers)
        status = int(result["status"])
        if status == 302:  # the whole-source redirect: a fixed prefix plus a validated dataset name
            assert kind == "origin"
            assert result["headers"]["location"][0]["value"].startswith("https://data.example.org/source/")
            return
        lowered = {name.lower(): value for name, value in headers}
        check_problem(status, lowered, str(result["body"]).encode("utf-8"))
        return
    request = parse_request(method, path, query)  # accepted by the edge, so the contract accepts it too
    assert result["uri"] + ("?" + result["querystring"] if result["querystring"] else "") == request.canonical
    forwarded = result["headers"]
    if kind == "viewer":
        assert not any(name.startswith("x-download-") for name in forwarded)
    else:
        assert forwarded["x-download-cache-key"][0]["value"] == request.canonical
        trace = forwarded["x-download-trace"][0]["value"]
        assert trace.startswith("v=1;")  # the edge's own, never the forged one
        assert SAFE_HEADER.fullmatch(trace)
        assert "custom" in result["origin"]


@pytest.mark.parametrize("kind", ["viewer", "origin"], ids=str)
@FUZZ
@given(method=METHODS, path=paths(), query=query_strings, header=header_values)
def test_the_edge_answers_any_request_safely(kind: str, method: str, path: str, query: str, header: str) -> None:
    event = _event(kind, method, path, query, header)
    before = copy.deepcopy(event)
    result = handle(event, CONFIG, "eu-west-2")
    assert json.dumps(result, ensure_ascii=True)  # serialisable, as Lambda must return it
    if method == "OPTIONS":
        return
    _check_result(kind, result, method=method, path=path, query=query, header=header)
    assert before["Records"][0]["cf"]["config"] == event["Records"][0]["cf"]["config"]
