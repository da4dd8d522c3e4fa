"""S3 faults injected between the worker and a moto S3 server: errors, throttling, dropped connections, delays and
objects replaced mid-download. Each test asserts what the client saw and what the worker logged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import botocore.retries.standard
import pytest

from tests.reliability.checks import check_problem, count_rows, function_url_event, request_logs
from tests.reliability.faultproxy import FaultProxy, Rule
from tests.support.s3 import MotoS3, s3_client
from worker.app import App
from worker.config import WorkerSettings
from worker.response import Response
from worker.s3source import BODY_ATTEMPTS, CLIENT_CONFIG, S3Source
from worker.scan import ROW_GROUPS_AT_ONCE
from worker.tracing import NullTracer

BIG = "title-boundary"  # 15 row groups
KEY = f"datasets/{BIG}.parquet"
MakeApp = Callable[..., App]
ATTEMPTS = 5  # CLIENT_CONFIG's ``max_attempts: 4`` is botocore's legacy meaning: four retries, five attempts


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore sleeps up to seconds between retries; the count of attempts, not the sleep, is under test."""
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)


@pytest.fixture
def proxy(moto_s3: MotoS3) -> Iterator[FaultProxy]:
    fault_proxy = FaultProxy(moto_s3.endpoint_url).start()
    yield fault_proxy
    fault_proxy.stop()


@pytest.fixture
def make_app(moto_s3: MotoS3, proxy: FaultProxy, samples: Path) -> MakeApp:
    """An app reading a fresh bucket (versioned or not) through the fault proxy, with the production client config."""

    def make(*, versioned: bool = False) -> App:
        bucket = moto_s3.create_bucket(versioned=versioned)
        for name in (BIG, "tree"):
            moto_s3.client.upload_file(str(samples / f"{name}.parquet"), bucket, f"datasets/{name}.parquet")
        client = s3_client(proxy.endpoint_url, config=CLIENT_CONFIG)
        app = App(
            WorkerSettings(source=f"s3://{bucket}/datasets/"), S3Source(bucket, "datasets/", client), NullTracer()
        )
        app.bucket = bucket  # type: ignore[attr-defined]  # for the replace tests
        return app

    return make


def get(app: App, path: str, query: str = "") -> Response:
    return app.handle(function_url_event("GET", path, query, "identity"))


def logged(capfd: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return request_logs(capfd.readouterr().err)


@pytest.mark.parametrize(
    ("method", "status", "expected", "code"),
    [
        pytest.param("HEAD", 500, 502, "source-unavailable", id="head-500"),
        pytest.param("HEAD", 503, 503, "source-busy", id="head-slowdown"),
        pytest.param("GET", 500, 502, "source-unavailable", id="get-500"),
        pytest.param("GET", 503, 503, "source-busy", id="get-slowdown"),
    ],
)
def test_persistent_errors_are_retried_then_a_problem_before_the_first_byte(
    make_app: MakeApp,
    proxy: FaultProxy,
    capfd: pytest.CaptureFixture[str],
    *,
    method: str,
    status: int,
    expected: int,
    code: str,
) -> None:
    app = make_app()
    capfd.readouterr()
    rule = Rule(method, KEY, "error", status=status)
    proxy.rules.append(rule)
    response = get(app, f"/{BIG}.csv")
    body = b"".join(response.body)
    assert response.status == expected
    assert response.headers["cache-control"] == "no-store"
    assert json.loads(body)["code"] == code
    assert rule.injected == ATTEMPTS
    [line] = logged(capfd)
    assert (line["status"], line["error_code"], line["level"]) == (expected, code, "error")


@pytest.mark.parametrize("status", [500, 503], ids=["500", "slowdown"])
@pytest.mark.parametrize("method", ["HEAD", "GET"], ids=str)
def test_transient_errors_are_retried_and_the_download_completes(
    make_app: MakeApp, proxy: FaultProxy, capfd: pytest.CaptureFixture[str], method: str, status: int
) -> None:
    app = make_app()
    rule = Rule(method, KEY, "error", status=status, skip=1 if method == "GET" else 0, times=2)
    proxy.rules.append(rule)
    response = get(app, f"/{BIG}.ndjson")
    body = b"".join(response.body)
    assert response.status == 200
    assert count_rows("ndjson", body, None) == 15_000
    assert rule.injected == 2
    assert logged(capfd)[-1]["status"] == 200


def test_a_connection_dropped_mid_body_is_retried(
    make_app: MakeApp, proxy: FaultProxy, capfd: pytest.CaptureFixture[str]
) -> None:
    app = make_app()
    rule = Rule("GET", KEY, "drop", skip=3, times=2, keep=0.3)  # two row-group reads cut off, then fine
    proxy.rules.append(rule)
    response = get(app, f"/{BIG}.json")
    body = b"".join(response.body)
    assert response.status == 200
    assert count_rows("json", body, None) == 15_000
    assert rule.injected == 2
    assert logged(capfd)[-1]["rows"] == 15_000


def test_connections_dropped_mid_body_after_the_first_byte_fail_the_stream(
    make_app: MakeApp, proxy: FaultProxy, capfd: pytest.CaptureFixture[str]
) -> None:
    app = make_app()
    rule = Rule("GET", KEY, "drop", skip=4, keep=0.3)  # every read after the first row groups is cut off
    proxy.rules.append(rule)
    response = get(app, f"/{BIG}.json")
    assert response.status == 200
    received: list[bytes] = []
    with pytest.raises(Exception, match="could not be read") as failure:
        received.extend(response.body)
    assert getattr(failure.value, "code", "") == "source-unavailable"
    assert received  # the failure came after the first byte
    with pytest.raises(ValueError, match=r"Expecting|Unterminated|Extra|delimiter"):
        json.loads(b"".join(received))  # never a complete JSON array
    # Bounded: each failing read gives up after BODY_ATTEMPTS, and at most ROW_GROUPS_AT_ONCE reads were running.
    assert BODY_ATTEMPTS <= rule.injected <= BODY_ATTEMPTS * ROW_GROUPS_AT_ONCE
    [line] = logged(capfd)
    assert (line["status"], line["error_code"], line["level"]) == (200, "source-unavailable", "error")


def test_a_slow_source_within_the_timeouts_completes(make_app: MakeApp, proxy: FaultProxy) -> None:
    app = make_app()
    rule = Rule("GET", KEY, "delay", seconds=0.2, times=3)
    proxy.rules.append(rule)
    response = get(app, f"/{BIG}.csv", "limit=2500")
    assert count_rows("csv", b"".join(response.body), None) == 2500
    assert rule.injected == 3


@pytest.mark.parametrize("versioned", [False, True], ids=["unversioned", "versioned"])
def test_an_object_replaced_between_row_groups(
    make_app: MakeApp, moto_s3: MotoS3, samples: Path, capfd: pytest.CaptureFixture[str], versioned: bool
) -> None:
    """Unversioned: the If-Match pin fails the stream. Versioned: the pinned version completes unmixed."""
    app = make_app(versioned=versioned)
    response = get(app, f"/{BIG}.ndjson")
    body = iter(response.body)
    received = [next(body)]
    moto_s3.client.upload_file(str(samples / "tree.parquet"), app.bucket, KEY)  # type: ignore[attr-defined]
    if versioned:
        received.extend(body)
        assert count_rows("ndjson", b"".join(received), None) == 15_000
        assert logged(capfd)[-1]["status"] == 200
        return
    with pytest.raises(Exception, match="changed while it was being read") as failure:
        received.extend(body)
    assert getattr(failure.value, "code", "") == "source-changed"
    assert len(b"".join(received).splitlines()) < 15_000
    assert logged(capfd)[-1]["error_code"] == "source-changed"


def test_a_missing_object_is_a_404_problem(make_app: MakeApp, capfd: pytest.CaptureFixture[str]) -> None:
    response = get(make_app(), "/no-such-dataset.csv")
    check_problem(response.status, response.headers, b"".join(response.body))
    assert response.status == 404
    assert logged(capfd)[-1]["error_code"] == "dataset-not-found"
