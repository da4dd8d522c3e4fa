"""The real runtime process (``python -m worker.runtime``) against the fake Runtime API on loopback."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.worker.runtime.conftest import StartRuntime
from tests.worker.runtime.fake_api import FakeRuntimeApi, Record
from tests.worker.runtime.handlers import CSV, SECRET, dispatch
from worker.runtime import loop
from worker.runtime.client import RuntimeClient

DELIMITER = b"\x00" * 8
STREAMING_HEADERS = {
    "lambda-runtime-function-response-mode": "streaming",
    "transfer-encoding": "chunked",
    "trailer": "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body",
    "content-type": "application/vnd.awslambda.http-integration-response",
}


def split(record: Record) -> tuple[dict[str, Any], bytes]:
    """The prelude JSON and the body of one streamed response."""
    assert record.kind == "response"
    assert record.complete
    for name, value in STREAMING_HEADERS.items():
        assert record.headers.get(name) == value, name
    prelude, delimiter, body = record.body.partition(DELIMITER)
    assert delimiter == DELIMITER
    document: dict[str, Any] = json.loads(prelude)
    return document, body


def error_trailers(record: Record) -> tuple[str, dict[str, Any]]:
    """The error type and the decoded error document carried by the trailers."""
    assert set(record.trailers) == {"Lambda-Runtime-Function-Error-Type", "Lambda-Runtime-Function-Error-Body"}
    document: dict[str, Any] = json.loads(base64.b64decode(record.trailers["Lambda-Runtime-Function-Error-Body"]))
    assert set(document) == {"errorMessage", "errorType", "stackTrace"}
    return record.trailers["Lambda-Runtime-Function-Error-Type"], document


def failure_lines(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_a_response_is_prelude_delimiter_then_body(fake_api: FakeRuntimeApi, start_runtime: StartRuntime) -> None:
    request_id = fake_api.add_event({"case": "ok"})
    start_runtime()
    [record] = fake_api.wait_for(1)
    prelude, body = split(record)
    assert record.request_id == request_id
    assert prelude == {"statusCode": 200, "headers": CSV, "cookies": []}
    assert record.body.startswith(b'{"statusCode":200,')
    assert body == b"a,b\n1,2\n"
    assert record.trailers == {}
    assert all(record.chunks), "an empty chunk would have ended the stream early"


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        pytest.param("raising_before", 500, "internal-error", id="handler-raises"),
        pytest.param("raising_in_first_chunk", 500, "internal-error", id="body-raises-before-first-chunk"),
        pytest.param("worker_error_before", 503, "source-busy", id="worker-error-keeps-its-status"),
        pytest.param("worker_error_in_first_chunk", 404, "dataset-not-found", id="worker-error-in-first-chunk"),
        pytest.param("bad_headers", 500, "internal-error", id="unserialisable-headers"),
    ],
)
def test_a_failure_before_the_first_byte_is_a_problem_response(
    fake_api: FakeRuntimeApi, start_runtime: StartRuntime, case: str, status: int, code: str
) -> None:
    fake_api.add_event({"case": case})
    fake_api.add_event({"case": "ok"})
    runtime = start_runtime()
    failed, after = fake_api.wait_for(2)
    prelude, body = split(failed)
    assert prelude["statusCode"] == status
    assert prelude["headers"]["content-type"] == "application/problem+json"
    assert prelude["headers"]["cache-control"] == "no-store"
    problem = json.loads(body)
    assert (problem["status"], problem["code"]) == (status, code)
    assert SECRET not in body.decode()
    assert failed.trailers == {}
    assert split(after)[1] == b"a,b\n1,2\n"
    [line] = failure_lines(runtime.stop())
    assert (line["phase"], line["requestId"]) == ("before-first-byte", failed.request_id)


@pytest.mark.parametrize(
    ("case", "error_type", "message_part"),
    [
        pytest.param("raising_after_first_chunk", "ValueError", "worker failed", id="unexpected-error"),
        pytest.param("worker_error_after_first_chunk", "SourceChanged", "source-changed", id="worker-error"),
    ],
)
def test_a_failure_after_the_first_byte_ends_with_error_trailers(
    fake_api: FakeRuntimeApi, start_runtime: StartRuntime, case: str, error_type: str, message_part: str
) -> None:
    fake_api.add_event({"case": case})
    start_runtime()
    [record] = fake_api.wait_for(1)
    prelude, body = split(record)
    assert prelude["statusCode"] == 200
    assert body == b"a,b\n", "nothing may be appended to a failed body"
    trailer_type, document = error_trailers(record)
    assert trailer_type == document["errorType"] == error_type
    assert message_part in document["errorMessage"]
    assert SECRET not in json.dumps(record.trailers) + body.decode()


def test_invocations_in_a_row_survive_a_failure(fake_api: FakeRuntimeApi, start_runtime: StartRuntime) -> None:
    ids = [fake_api.add_event({"case": case}) for case in ("ok", "raising_after_first_chunk", "ok")]
    runtime = start_runtime()
    records = fake_api.wait_for(3)
    assert [record.request_id for record in records] == ids
    assert [record.trailers != {} for record in records] == [False, True, False]
    assert split(records[2])[1] == b"a,b\n1,2\n"
    lines = failure_lines(runtime.stop())
    assert [(line["phase"], line["requestId"]) for line in lines] == [("after-first-byte", ids[1])]


def test_the_trace_id_is_set_per_invocation_and_cleared(fake_api: FakeRuntimeApi, start_runtime: StartRuntime) -> None:
    trace = "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"
    first_id = fake_api.add_event({"case": "echo"}, trace_id=trace)
    fake_api.add_event({"case": "echo"})
    start_runtime()
    first, second = (json.loads(split(record)[1]) for record in fake_api.wait_for(2))
    assert first["trace"] == trace
    assert second["trace"] is None
    assert first["request_id"] == first_id
    assert first["arn"] == "arn:aws:lambda:eu-west-2:123456789012:function:worker:live"
    assert first["remaining_positive"] is True
    assert first["event"] == {"case": "echo"}


def test_streaming_stops_before_the_deadline_with_error_trailers(
    fake_api: FakeRuntimeApi, start_runtime: StartRuntime
) -> None:
    fake_api.add_event({"case": "slow"}, deadline_in_ms=2500)
    fake_api.add_event({"case": "ok"})
    runtime = start_runtime(env={"RUNTIME_DEADLINE_MARGIN_MS": "1500"})
    stopped, after = fake_api.wait_for(2)
    prelude, body = split(stopped)
    assert prelude["statusCode"] == 200
    assert body
    assert body == b"row\n" * (len(body) // 4)
    trailer_type, document = error_trailers(stopped)
    assert trailer_type == "Runtime.DeadlineApproaching"
    assert "margin 1500 ms" in document["errorMessage"]
    assert split(after)[1] == b"a,b\n1,2\n"
    assert "slow: body closed" in runtime.stop()


def test_a_deadline_already_too_close_is_a_504_problem(fake_api: FakeRuntimeApi, start_runtime: StartRuntime) -> None:
    fake_api.add_event({"case": "slow"}, deadline_in_ms=500)
    start_runtime(env={"RUNTIME_DEADLINE_MARGIN_MS": "1500"})
    [record] = fake_api.wait_for(1)
    prelude, body = split(record)
    assert prelude["statusCode"] == 504
    assert json.loads(body)["code"] == "deadline-exceeded"
    assert record.trailers == {}


def test_a_payload_that_is_not_json_is_an_invocation_error(
    fake_api: FakeRuntimeApi, start_runtime: StartRuntime
) -> None:
    bad_id = fake_api.add_event(b"not json")
    fake_api.add_event({"case": "ok"})
    start_runtime()
    error, after = fake_api.wait_for(2)
    assert (error.kind, error.request_id) == ("error", bad_id)
    assert error.headers["lambda-runtime-function-error-type"] == "JSONDecodeError"
    assert json.loads(error.body)["errorType"] == "JSONDecodeError"
    assert split(after)[1] == b"a,b\n1,2\n"


def test_the_runtime_releases_memory_after_every_invocation(
    fake_api: FakeRuntimeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    released: list[tuple[int, int]] = []

    def release(keep: int) -> bool:
        released.append((len(fake_api.records), keep))  # how many responses were complete at that moment
        return True

    monkeypatch.setattr(loop, "release_freed_memory", release)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
    for _ in range(2):
        fake_api.add_event({"case": "ok"})
    loop.run(RuntimeClient(fake_api.address), dispatch, margin_ms=0, invocations=2)
    # After each response was sent, not before; keeping up to half of the function's 512 MB.
    assert released == [(1, 256 * 1024 * 1024), (2, 256 * 1024 * 1024)]
    assert [record.kind for record in fake_api.wait_for(2)] == ["response", "response"]
