"""/source/: the source objects served like CloudFront's S3 behaviour, locally and through the server."""

from __future__ import annotations

import http.client
import os
from pathlib import Path

import pytest
import requests

from dataset_downloads.static import LocalStore, serve_source
from tests.dataset_downloads.local_stack import Stack, small_samples, stack

__all__ = ["small_samples", "stack"]  # fixtures used by name

CONTENT = bytes(range(256)) * 4  # 1,024 bytes


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    (tmp_path / "tiny.parquet").write_bytes(CONTENT)
    return LocalStore(tmp_path)


@pytest.mark.parametrize(
    ("range_header", "status", "expected"),
    [
        pytest.param(None, 200, CONTENT, id="whole"),
        pytest.param("bytes=0-9", 206, CONTENT[:10], id="first-ten"),
        pytest.param("bytes=1000-", 206, CONTENT[1000:], id="open-ended"),
        pytest.param("bytes=-8", 206, CONTENT[-8:], id="suffix"),
        pytest.param("bytes=1000-5000", 206, CONTENT[1000:], id="clamped"),
        pytest.param("bytes=9-3", 200, CONTENT, id="invalid-ignored"),
        pytest.param("bytes=0-1,5-6", 200, CONTENT, id="multi-range-ignored"),
        pytest.param("bytes=1024-", 416, b"", id="unsatisfiable"),
    ],
)
def test_ranges(store: LocalStore, range_header: str | None, status: int, expected: bytes) -> None:
    headers = {"range": range_header} if range_header else {}
    response = serve_source(store, "GET", "/source/tiny.parquet", headers)
    assert response.status == status
    assert b"".join(response.body) == expected
    fields = dict(response.headers)
    if status == 206:
        span, _, total = fields["Content-Range"].removeprefix("bytes ").partition("/")
        start, _, end = span.partition("-")
        assert (CONTENT[int(start) : int(end) + 1], total) == (expected, "1024")
    if status == 416:
        assert fields["Content-Range"] == "bytes */1024"


def test_conditional_and_head(store: LocalStore) -> None:
    whole = serve_source(store, "HEAD", "/source/tiny.parquet", {})
    fields = dict(whole.headers)
    assert (whole.status, list(whole.body), fields["Content-Length"]) == (200, [], "1024")
    assert fields["Last-Modified"].endswith("GMT")
    again = serve_source(store, "GET", "/source/tiny.parquet", {"if-none-match": fields["ETag"]})
    assert (again.status, list(again.body)) == (304, [])


@pytest.mark.parametrize(
    "uri",
    [
        pytest.param("/source/missing.parquet", id="missing"),
        pytest.param("/source/..%2Fsecret.parquet", id="encoded-dot-dot"),
        pytest.param("/source/../secret.parquet", id="dot-dot"),
        pytest.param("/source/tiny.csv", id="not-parquet"),
        pytest.param("/source/link.parquet", id="symlink-out"),
        pytest.param("/source/Tiny.parquet", id="uppercase"),
    ],
)
def test_nothing_outside_the_folder(store: LocalStore, tmp_path: Path, uri: str) -> None:
    outside = tmp_path.parent / "secret.parquet"
    outside.write_bytes(b"secret")
    os.symlink(outside, tmp_path / "link.parquet")
    response = serve_source(store, "GET", uri, {})
    body = b"".join(response.body)
    assert response.status == 404
    assert b"secret" not in body
    assert b"dataset-not-found" in body


def test_served_through_the_server_in_chunks(stack: Stack, small_samples: Path) -> None:
    expected = (small_samples / "title-boundary.parquet").read_bytes()
    response = requests.get(f"{stack.base_url}/source/title-boundary.parquet", timeout=10)
    assert response.content == expected
    assert response.headers["Content-Type"] == "application/vnd.apache.parquet"
    tail = requests.get(f"{stack.base_url}/source/title-boundary.parquet", headers={"Range": "bytes=-8"}, timeout=10)
    assert (tail.status_code, tail.content) == (206, expected[-8:])


def test_path_escape_through_the_server_is_refused(stack: Stack) -> None:
    conn = http.client.HTTPConnection(stack.host, stack.port, timeout=10)
    for path in ("/source/../../etc/passwd", "/source/..%2f..%2fetc%2fpasswd", "/source/%2e%2e/x.parquet"):
        conn.request("GET", path)
        response = conn.getresponse()
        assert (response.status, response.getheader("Content-Type")) == (404, "application/problem+json"), path
        assert b"root:" not in response.read()
    conn.close()
