"""A source that breaks after the first bytes were sent: every client must see a failed transfer, and what it
received must never parse as a complete file. The worker logs the failure with its error code.
"""

from __future__ import annotations

import gzip
import http.client
import io
import json
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dataset_downloads.server import start_server
from tests.support.faults import BreakingSource
from worker.app import App
from worker.config import WorkerSettings
from worker.tracing import NullTracer

BIG = "title-boundary"


@pytest.fixture(scope="module")
def breaking(samples: Path) -> Iterator[str]:
    """A stack whose source breaks after about two of the sample's fifteen row groups."""
    metadata = pq.ParquetFile(samples / f"{BIG}.parquet").metadata
    budget = sum(metadata.row_group(i).total_byte_size for i in range(2))
    app = App(WorkerSettings(source=str(samples)), source=BreakingSource(samples, budget), tracer=NullTracer())
    base_url, stop = start_server(str(samples), worker=app.handle)
    try:
        yield base_url
    finally:
        stop()


def fetch(base_url: str, path: str, encoding: str = "identity") -> tuple[int, dict[str, str], bytes, bool]:
    """GET with http.client: status, headers, the bytes received, and whether the transfer completed."""
    host, _, port = base_url.removeprefix("http://").partition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.request("GET", path, headers={"Accept-Encoding": encoding})
        response = connection.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        try:
            return response.status, headers, response.read(), True
        except http.client.IncompleteRead as error:
            return response.status, headers, bytes(error.partial), False
    finally:
        connection.close()


def _parses_as_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


def _parses_as_parquet(data: bytes) -> bool:
    try:
        pq.read_table(io.BytesIO(data))
    except Exception:  # any failure to read means "not a complete file"
        return False
    return True


def _gunzips(data: bytes) -> bool:
    try:
        gzip.decompress(data)
    except (EOFError, OSError, zlib.error):
        return False
    return True


COMPLETE: dict[str, Callable[[bytes], bool] | None] = {
    "csv": None,  # rows are whole; only the transport shows the failure
    "ndjson": None,
    "json": _parses_as_json,
    "geojson": _parses_as_json,
    "parquet": _parses_as_parquet,
}


@pytest.mark.parametrize("fmt", list(COMPLETE), ids=str)
def test_a_broken_source_is_a_failed_transfer(breaking: str, fmt: str, capfd: pytest.CaptureFixture[str]) -> None:
    query = "?limit=100000000" if fmt == "parquet" else ""  # without a parameter: a redirect to the source
    status, headers, received, completed = fetch(breaking, f"/{BIG}.{fmt}{query}")
    assert status == 200  # the headers went out before the source broke
    assert not completed
    check = COMPLETE[fmt]
    if check is not None:
        assert not check(received)
    logged = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    failures = [line for line in logged if line.get("trace_id") == headers["x-download-trace-id"]]
    assert failures
    assert failures[-1]["error_code"] == "source-changed"


@pytest.mark.parametrize("fmt", ["csv", "ndjson", "json"], ids=str)
def test_a_broken_gzip_stream_never_decompresses_completely(breaking: str, fmt: str) -> None:
    status, headers, received, completed = fetch(breaking, f"/{BIG}.{fmt}?limit=50000", encoding="gzip")
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert not completed
    assert not _gunzips(received)


def test_the_server_keeps_serving_after_a_failure(breaking: str) -> None:
    fetch(breaking, f"/{BIG}.csv")
    status, _, received, completed = fetch(breaking, "/tree.csv?limit=3")
    assert status == 200
    assert completed
    assert received.count(b"\n") == 4
