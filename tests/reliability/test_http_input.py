"""Hostile requests through the real local HTTP server (edge + cache + worker) over raw sockets, for a sample
of generated inputs: raw bytes in the request target, CR/LF and NUL in header values, huge queries.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataset_downloads.server import start_server
from tests.reliability.checks import CLIENT_ERRORS, SAFE_HEADER, check_problem
from tests.reliability.strategies import header_values, huge_queries, paths, queries, valid_requests
from worker.app import App

targets = st.one_of(st.tuples(paths(), st.one_of(queries(), huge_queries)), valid_requests())


@pytest.fixture(scope="module")
def base_url(app: App, samples: Path) -> Iterator[str]:
    url, stop = start_server(str(samples), worker=app.handle)
    yield url
    stop()


def exchange(base_url: str, request: bytes) -> bytes:
    """Send raw bytes, read until the server closes (``Connection: close``)."""
    host, _, port = base_url.removeprefix("http://").partition(":")
    with socket.create_connection((host, int(port)), timeout=30) as client:
        client.sendall(request)
        client.shutdown(socket.SHUT_WR)  # no second request: the server closes after answering
        received = b""
        while chunk := client.recv(65536):
            received += chunk
    return received


def _raw(target: str) -> bytes:
    """The target as a client might put it on the wire: raw UTF-8, but no byte that ends the request line."""
    data = target.encode("utf-8", "surrogatepass")
    for byte, escape in ((b" ", b"%20"), (b"\r", b"%0D"), (b"\n", b"%0A"), (b"#", b"%23")):
        data = data.replace(byte, escape)
    return data if data.startswith(b"/") else b"/" + data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=targets, header=header_values)
def test_the_server_answers_hostile_requests_safely(base_url: str, target: tuple[str, str], header: str) -> None:
    path, query = target
    request_target = _raw(path + ("?" + query if query else ""))
    # A raw CR/LF would end the header line on the wire (a second header or request, not a value): the
    # handler-level suites give those to the edge and the worker directly.
    header_line = header.encode("utf-8", "surrogatepass").replace(b"\r", b"").replace(b"\n", b"")
    request = b"GET " + request_target + b" HTTP/1.1\r\nHost: x\r\nAccept-Encoding: " + header_line
    request += b"\r\nConnection: close\r\n\r\n"
    reply = exchange(base_url, request)
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    assert all(SAFE_HEADER.fullmatch(line.decode("latin-1")) for line in lines), lines
    headers = {k.lower(): v.strip() for k, _, v in (line.decode("ascii").partition(":") for line in lines[1:])}
    if status == 200:
        assert headers.get("transfer-encoding") == "chunked" or "content-length" in headers
        if headers.get("transfer-encoding") == "chunked":
            assert body.endswith(b"0\r\n\r\n")  # complete
        return
    if status == 302:  # a whole-dataset Parquet request is sent to the source object (edge/router.py)
        assert headers["location"].startswith("/source/"), headers
        return
    if headers.get("content-type") != "application/problem+json":
        # Only http.server's own parser refuses a request line before our code sees it (e.g. a NUL or a
        # header line it cannot parse); the message is HTML-escaped by the standard library.
        assert status == 400
        return
    assert status in CLIENT_ERRORS
    chunked = headers.get("transfer-encoding") == "chunked"
    check_problem(status, headers, dechunk(body) if chunked else body[: int(headers["content-length"])])


def dechunk(data: bytes) -> bytes:
    """The payload of a complete chunked body (fails on an incomplete one)."""
    out = b""
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return out
        out, data = out + data[:size], data[size + 2 :]


@pytest.mark.parametrize(
    "target",
    [
        pytest.param(b"/tree.csv?entity=\xee\xa0\x80", id="nbsp-byte-splits-the-request-line"),
        pytest.param(b"/tree.csv\x00", id="nul"),
        pytest.param(b"/..%2f..%2fetc%2fpasswd.csv", id="encoded-traversal"),
        pytest.param(b"/%2e%2e/tree.csv", id="dot-dot-segment"),
        pytest.param(b"/tree%5c..%5ctree.csv", id="encoded-backslash"),
        pytest.param(b"/source/../tree.parquet", id="source-traversal"),
        pytest.param(b"/source/%2e%2e%2ftree.parquet", id="source-encoded-traversal"),
        pytest.param(b"/tree.csv?" + b"&".join([b"entity=1"] * 3000), id="thousands-of-parameters"),
    ],
)
def test_the_status_line_and_headers_never_echo_raw_input(base_url: str, target: bytes) -> None:
    reply = exchange(base_url, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head = reply.partition(b"\r\n\r\n")[0]
    assert head.isascii()
    assert all(SAFE_HEADER.fullmatch(line.decode("ascii")) for line in head.split(b"\r\n"))
    assert 400 <= int(head.split()[1]) < 500
