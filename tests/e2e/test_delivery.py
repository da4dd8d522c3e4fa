"""Large results through the whole local stack: the worker stores them and redirects, the distribution serves
``/results/`` with Content-Length, Range and the stored Content-Encoding, and the bytes equal the streamed ones.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dataset_downloads.server import start_server
from tests.e2e.conftest import Oracle, upload
from tests.support.s3 import MotoServer, s3_client
from worker.app import App
from worker.config import WorkerSettings
from worker.results import results_from_url
from worker.source import source_from_url
from worker.tracing import NullTracer

BIG = "/title-boundary.csv"


@dataclass(frozen=True)
class Stack:
    """A local stack that stores large results, and one that streams everything, over the same data."""

    delivering: str
    streaming: str


def _start(source: str, app_source: object, results: str | None, results_store: object) -> tuple[str, object]:
    settings = WorkerSettings(source=source, results_url=results, results_threshold=50_000)
    app = App(settings, source=app_source, tracer=NullTracer(), results=results_store)  # type: ignore[arg-type]
    return start_server(source, worker=app.handle, results=results)


@pytest.fixture(scope="module", params=["local", "s3"])
def stack(request: pytest.FixtureRequest, samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Both stacks on the local folder (results in a folder) and on moto S3 (results in the bucket)."""
    if request.param == "local":
        source, app_source, results = str(samples), None, str(tmp_path_factory.mktemp("results"))
        store = results_from_url(results)
    else:
        server: MotoServer = request.getfixturevalue("s3_env")
        bucket = upload(server, samples)
        client = s3_client(server.endpoint_url)
        source, app_source = f"s3://{bucket}/datasets/", source_from_url(f"s3://{bucket}/datasets/", s3_client=client)
        results = f"s3://{bucket}/results/"
        store = results_from_url(results, s3_client=client)
    delivering, stop_delivering = _start(source, app_source, results, store)
    streaming, stop_streaming = _start(source, app_source, None, None)
    try:
        yield Stack(delivering, streaming)
    finally:
        stop_delivering()  # type: ignore[operator]
        stop_streaming()  # type: ignore[operator]


@pytest.fixture(scope="module")
def query(oracle: Oracle) -> str:
    """A filter on the three biggest publishers: tens of thousands of rows, far over the test threshold."""
    top = [str(organisation) for organisation, _ in oracle.organisations("title-boundary")[:3]]
    return "organisation-entity=" + ",".join(top)


def get(base_url: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    host, _, port = base_url.removeprefix("http://").partition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("encoding", [pytest.param("gzip", id="gzip"), pytest.param("identity", id="identity")])
def test_large_download_redirects_to_the_streamed_bytes(stack: Stack, query: str, encoding: str) -> None:
    accept = {"Accept-Encoding": encoding}
    status, streamed_headers, streamed = get(stack.streaming, f"{BIG}?{query}", accept)
    assert status == 200
    status, headers, empty = get(stack.delivering, f"{BIG}?{query}", accept)
    assert (status, empty) == (302, b"")
    location = headers["location"]
    assert location.startswith("/results/")
    status, stored_headers, stored = get(stack.delivering, location, accept)
    assert status == 200
    assert stored == streamed
    assert stored_headers["content-length"] == str(len(streamed))
    assert stored_headers.get("content-encoding") == streamed_headers.get("content-encoding")
    assert stored_headers["content-type"] == streamed_headers["content-type"]
    assert stored_headers["content-disposition"] == streamed_headers["content-disposition"]
    assert "immutable" in stored_headers["cache-control"]
    status, ranged_headers, ranged = get(stack.delivering, location, {**accept, "Range": "bytes=10-19"})
    assert (status, ranged) == (206, streamed[10:20])
    assert ranged_headers["content-range"] == f"bytes 10-19/{len(streamed)}"
    # The redirect itself is cached like the streamed response would be.
    again = get(stack.delivering, f"{BIG}?{query}", accept)
    assert (again[0], again[1]["location"], again[1]["x-cache"]) == (302, location, "Hit from cloudfront")


def test_small_download_still_streams(stack: Stack) -> None:
    status, headers, data = get(stack.delivering, f"{BIG}?limit=3", {"Accept-Encoding": "identity"})
    assert status == 200
    assert data.count(b"\n") == 4
    assert "location" not in headers


def test_unknown_result_is_a_404(stack: Stack) -> None:
    status, headers, _ = get(stack.delivering, "/results/" + "0" * 32 + "-" + "0" * 16 + ".csv", {})
    assert (status, headers["content-type"]) == (404, "application/problem+json")
