"""worker/logging.py: one JSON line per request, whatever the fields hold."""

from __future__ import annotations

import io
import json

import pytest

from worker.logging import format_request, log_request


def test_one_json_line_with_the_fields() -> None:
    out = io.StringIO()
    log_request({"trace_id": "1-a-b", "dataset": "tree", "status": 200, "ttfb_ms": 1.5, "duration_ms": 9.0}, out)
    [line] = out.getvalue().splitlines(keepends=True)
    assert line.endswith("\n")
    record = json.loads(line)
    assert record["message"] == "request"
    assert record["level"] == "info"
    assert record["trace_id"] == "1-a-b"
    assert record["status"] == 200
    assert record["duration_ms"] == 9.0


@pytest.mark.parametrize(
    ("fields", "level"),
    [
        pytest.param({"status": 503}, "error", id="5xx"),
        pytest.param({"status": 200, "error": "SourceChanged"}, "error", id="failed-stream"),
        pytest.param({"status": 404}, "info", id="4xx"),
    ],
)
def test_level_follows_the_outcome(fields: dict[str, object], level: str) -> None:
    assert json.loads(format_request(fields))["level"] == level


def test_odd_values_never_raise() -> None:
    out = io.StringIO()
    log_request({"rows": float("nan"), "obj": object(), "text": "line\nbreak \u00e9"}, out)
    [line] = out.getvalue().splitlines()
    record = json.loads(line)
    assert record["rows"] == "nan"
    assert record["text"] == "line\nbreak \u00e9"


def test_a_broken_stream_is_ignored() -> None:
    out = io.StringIO()
    out.close()
    log_request({"status": 200}, out)


def test_defaults_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    log_request({"status": 200})
    assert json.loads(capsys.readouterr().err)["status"] == 200


def test_time_is_utc_iso8601() -> None:
    assert json.loads(format_request({}, now=1718000000.5))["time"] == "2024-06-10T06:13:20.500Z"
