"""Failures as problem responses, Runtime API error reports and log lines."""

from __future__ import annotations

import io
import json

import pytest

from edge.errors import InvalidParam
from worker.errors import SourceBusy, UnknownColumn
from worker.runtime.failure import DeadlineApproaching, error_report, log_failure, problem_response

SECRET = "/var/task/secret.py line 3"


def test_a_worker_error_keeps_its_status_code_and_detail() -> None:
    error = UnknownColumn('No column "x".', (InvalidParam("fields", "unknown column"),))
    response = problem_response(error)
    body = json.loads(b"".join(response.body))
    assert response.status == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["cache-control"] == "no-store"
    assert (body["code"], body["detail"]) == ("unknown-column", 'No column "x".')
    assert body["invalid-params"] == [{"name": "fields", "reason": "unknown column"}]


def test_an_unexpected_error_is_a_generic_500() -> None:
    response = problem_response(RuntimeError(SECRET))
    body = b"".join(response.body)
    assert response.status == 500
    assert json.loads(body)["code"] == "internal-error"
    assert SECRET not in body.decode()
    assert response.headers["content-length"] == str(len(body))


def test_error_reports_name_the_class_and_hide_unexpected_text() -> None:
    assert error_report(RuntimeError(SECRET)).error_type == "RuntimeError"
    assert SECRET not in error_report(RuntimeError(SECRET)).message
    assert error_report(SourceBusy("throttled")).message == "source-busy: throttled"
    assert error_report(DeadlineApproaching("late")).error_type == "Runtime.DeadlineApproaching"


def test_a_failure_is_one_json_line_with_the_details() -> None:
    out = io.StringIO()
    try:
        raise ValueError(SECRET)
    except ValueError as error:
        log_failure("after-first-byte", "req-1", error, out)
    [line] = out.getvalue().splitlines()
    record = json.loads(line)
    assert (record["phase"], record["requestId"], record["errorType"]) == ("after-first-byte", "req-1", "ValueError")
    assert record["errorMessage"] == SECRET
    assert any("raise ValueError" in frame for frame in record["stackTrace"])


def test_a_fallback_problem_carries_the_invocation_trace_id(monkeypatch: pytest.MonkeyPatch) -> None:
    root = "1-5759e988-bd862e3fe1be46a994272793"
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={root};Parent=53995c3f42cd8ad8;Sampled=1")
    response = problem_response(RuntimeError("boom"))
    assert response.headers["x-download-trace-id"] == root
    assert response.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize(
    "header",
    [None, "", "Root=not-a-trace-id", "Parent=53995c3f42cd8ad8", "Root=1-5759e988-bd862e3fe1be46a99427279\r\nX: y"],
    ids=["absent", "empty", "malformed", "no-root", "injection"],
)
def test_no_trace_id_header_without_a_well_formed_root(monkeypatch: pytest.MonkeyPatch, header: str | None) -> None:
    if header is None:
        monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    else:
        monkeypatch.setenv("_X_AMZN_TRACE_ID", header)
    assert "x-download-trace-id" not in problem_response(RuntimeError("boom")).headers
