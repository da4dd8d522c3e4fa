"""Hostile input through the worker's HTTP handler (``App.handle``) on real sample data.

Every Function URL event gets a 4xx problem+json or a complete, correct download (rows counted against the
source with pyarrow); no exception escapes ``handle`` or the body; every header is visible ASCII; the one JSON
log line per request stays one line whatever the input.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from edge.contract import parse_request
from tests.reliability.checks import check_headers, check_problem, count_rows, expected_rows, function_url_event
from tests.reliability.strategies import header_values, huge_queries, paths, queries, valid_requests
from worker.app import App

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
METHODS = st.sampled_from(("GET",) * 8 + ("HEAD", "HEAD", "POST", "OPTIONS", ""))
requests = st.one_of(
    st.tuples(paths(), st.one_of(queries(), huge_queries)),
    valid_requests(),
    valid_requests(),
)


def answer(app: App, method: str, path: str, query: str, header: str) -> tuple[int, dict[str, str], bytes]:
    """Call the handler and drain the body: (status, headers, body)."""
    response = app.handle(function_url_event(method, path, query, header))
    body = b"".join(response.body)
    check_headers(response.headers.items())
    return response.status, response.headers, body


def check_download(folder: Path, method: str, *, path: str, query: str, headers: dict[str, str], body: bytes) -> None:
    """A 200 is the complete result: the right number of rows, parsed from the body by an independent reader."""
    request = parse_request(method, path, query)
    assert headers["etag"].startswith('"')
    if method == "HEAD":
        assert body == b""
        return
    rows = count_rows(request.format.value, body, headers.get("content-encoding"))
    assert rows == expected_rows(folder, request)


@FUZZ
@given(method=METHODS, target=requests, header=header_values)
def test_the_worker_answers_any_request_safely(
    app: App, samples: Path, capfd: pytest.CaptureFixture[str], *, method: str, target: tuple[str, str], header: str
) -> None:
    path, query = target
    capfd.readouterr()
    status, headers, body = answer(app, method, path, query, header)
    event(f"status {status}")
    if status == 200:
        check_download(samples, method, path=path, query=query, headers=headers, body=body)
    elif status == 304:
        assert body == b""
    else:
        check_problem(status, headers, body)
        if status == 405:
            assert headers["allow"] == "GET, HEAD"
    lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    assert len(lines) == 1
    logged = json.loads(lines[0])
    assert logged["status"] == status
    assert lines[0].isascii()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=valid_requests())
def test_every_spelling_gives_the_bytes_of_the_canonical_request(app: App, target: tuple[str, str]) -> None:
    path, query = target
    request = parse_request("GET", path, query)
    uri, _, canonical_query = request.canonical.partition("?")
    spelled = answer(app, "GET", path, query, "gzip")
    canonical = answer(app, "GET", uri, canonical_query, "gzip")
    event(f"status {spelled[0]}")
    assert spelled[0] == canonical[0]
    assert spelled[2] == canonical[2]
    if spelled[0] == 200:
        assert spelled[1]["etag"] == canonical[1]["etag"]
