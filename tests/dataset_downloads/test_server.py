"""The local server end to end over loopback: the real edge, a fake worker, the real cache and framing."""

from __future__ import annotations

import http.client
import json
import socket
import struct

import pytest
import requests

from tests.dataset_downloads.local_stack import OK_BODY, Stack, small_samples, stack

__all__ = ["small_samples", "stack"]  # fixtures used by name


def _connection(stack: Stack) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(stack.host, stack.port, timeout=10)


def _get(
    conn: http.client.HTTPConnection, path: str, method: str = "GET", **headers: str
) -> tuple[http.client.HTTPResponse, bytes]:
    conn.request(method, path, headers=headers)
    response = conn.getresponse()
    return response, response.read()


def test_streams_chunked_and_caches_the_canonical_request(stack: Stack) -> None:
    conn = _connection(stack)
    first, body = _get(conn, "/ok.csv?Entity=2,1&entity=1")
    assert (first.status, body, first.getheader("X-Cache")) == (200, b"".join(OK_BODY), "Miss from cloudfront")
    assert first.getheader("Transfer-Encoding") == "chunked"
    second, again = _get(conn, "/OK.CSV?entity=1,2")
    assert (second.status, again, second.getheader("X-Cache")) == (200, body, "Hit from cloudfront")
    assert second.getheader("Content-Length") == str(len(body))
    assert second.getheader("Age") == "0"
    assert second.getheader("X-Amz-Cf-Id") != first.getheader("X-Amz-Cf-Id")
    assert len(stack.worker.events) == 1
    conn.close()


def test_worker_event_is_a_function_url_event(stack: Stack) -> None:
    requests.get(f"{stack.base_url}/ok.json?organization-entity=5", headers={"If-None-Match": '"x"'}, timeout=10)
    event = stack.worker.events[0]
    assert event["version"] == "2.0"
    assert (event["rawPath"], event["rawQueryString"]) == ("/ok.json", "organisation-entity=5")
    assert event["requestContext"]["http"]["method"] == "GET"
    headers = event["headers"]
    assert headers["x-download-cache-key"] == "/ok.json?organisation-entity=5"
    assert "x-download-trace" in headers
    assert headers["accept-encoding"] == "gzip"
    assert headers["if-none-match"] == '"x"'
    assert headers["x-amz-cf-id"] == event["requestContext"]["requestId"]
    assert event["isBase64Encoded"] is False


def test_cache_is_keyed_by_normalised_accept_encoding(stack: Stack) -> None:
    conn = _connection(stack)
    _get(conn, "/ok.csv", **{"Accept-Encoding": "gzip, br"})
    hit, _ = _get(conn, "/ok.csv", **{"Accept-Encoding": "br;q=1, gzip;q=0.5"})
    other, _ = _get(conn, "/ok.csv", **{"Accept-Encoding": "identity"})
    assert hit.getheader("X-Cache") == "Hit from cloudfront"
    assert other.getheader("X-Cache") == "Miss from cloudfront"
    assert "accept-encoding" not in stack.worker.events[1]["headers"]
    conn.close()


@pytest.mark.parametrize("dataset", [pytest.param("no-store", id="no-store"), pytest.param("zero-age", id="max-age-0")])
def test_uncacheable_responses_are_not_stored(stack: Stack, dataset: str) -> None:
    for _ in range(2):
        response = requests.get(f"{stack.base_url}/{dataset}.csv", timeout=10)
        assert response.headers["X-Cache"] == "Miss from cloudfront"
    assert len(stack.worker.events) == 2


def test_entries_expire_after_max_age(stack: Stack) -> None:
    requests.get(f"{stack.base_url}/ok.csv", timeout=10)
    stack.clock.now += 299
    hit = requests.get(f"{stack.base_url}/ok.csv", timeout=10)
    assert (hit.headers["X-Cache"], hit.headers["Age"]) == ("Hit from cloudfront", "299")
    stack.clock.now += 1
    assert requests.get(f"{stack.base_url}/ok.csv", timeout=10).headers["X-Cache"] == "Miss from cloudfront"


def test_responses_bigger_than_an_entry_are_streamed_not_stored(stack: Stack) -> None:
    for _ in range(2):
        response = requests.get(f"{stack.base_url}/big.csv", timeout=10)
        assert len(response.content) == 409_600
    assert len(stack.worker.events) == 2
    assert len(stack.cache) == 0


def test_if_none_match_on_a_hit_is_304(stack: Stack) -> None:
    requests.get(f"{stack.base_url}/ok.csv", timeout=10)
    response = requests.get(f"{stack.base_url}/ok.csv", headers={"If-None-Match": '"ok-v1"'}, timeout=10)
    assert (response.status_code, response.content, response.headers["ETag"]) == (304, b"", '"ok-v1"')


def test_head_sends_headers_only_and_keeps_the_connection(stack: Stack) -> None:
    conn = _connection(stack)
    head, body = _get(conn, "/ok.csv", method="HEAD")
    assert (head.status, body, head.getheader("Content-Type")) == (200, b"", "text/csv; charset=utf-8")
    sock = conn.sock
    _get(conn, "/ok.csv")
    cached_head, body = _get(conn, "/ok.csv", method="HEAD")
    assert (cached_head.getheader("X-Cache"), body) == ("Hit from cloudfront", b"")
    assert cached_head.getheader("Content-Length") == str(len(b"".join(OK_BODY)))
    assert conn.sock is sock  # one keep-alive connection throughout
    conn.close()


@pytest.mark.parametrize(
    "path", [pytest.param("/ok.csv", id="download"), pytest.param("/source/conservation-area.parquet", id="source")]
)
def test_other_methods_are_405(stack: Stack, path: str) -> None:
    response = requests.post(f"{stack.base_url}{path}", data=b"ignored", timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD"
    assert response.headers["Content-Type"] == "application/problem+json"
    assert not stack.worker.events


def test_invalid_requests_are_answered_by_the_viewer_edge(stack: Stack) -> None:
    response = requests.get(f"{stack.base_url}/ok.csv?organization_entity=1", timeout=10)
    assert response.status_code == 400
    assert response.headers["X-Cache"] == "LambdaGeneratedResponse from cloudfront"
    assert json.loads(response.content)["code"] == "unknown-parameter"
    assert not stack.worker.events


def test_whole_parquet_redirects_to_the_source(stack: Stack) -> None:
    first = requests.get(f"{stack.base_url}/conservation-area.parquet", allow_redirects=False, timeout=10)
    second = requests.get(f"{stack.base_url}/conservation-area.parquet", timeout=10)
    assert (first.status_code, first.headers["Location"]) == (302, "/source/conservation-area.parquet")
    assert second.history[0].headers["X-Cache"] == "Hit from cloudfront"
    assert second.status_code == 200
    assert second.content[:4] == second.content[-4:] == b"PAR1"


def test_a_failure_midway_is_a_failed_transfer(stack: Stack) -> None:
    conn = _connection(stack)
    conn.request("GET", "/fail.csv")
    response = conn.getresponse()
    assert response.status == 200
    with pytest.raises(http.client.IncompleteRead):
        response.read()
    conn.close()
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(f"{stack.base_url}/fail.csv", timeout=10)
    assert len(stack.cache) == 0  # a failed download is never replayed from the cache
    assert requests.get(f"{stack.base_url}/ok.csv", timeout=10).status_code == 200


def test_a_worker_that_crashes_before_answering_is_502(stack: Stack) -> None:
    response = requests.get(f"{stack.base_url}/explode.csv", timeout=10)
    assert response.status_code == 502
    assert response.headers["Cache-Control"] == "no-store"
    assert "crashed" not in response.text


def test_client_disconnect_closes_the_body(stack: Stack) -> None:
    client = socket.create_connection((stack.host, stack.port), timeout=10)
    client.sendall(b"GET /endless.csv HTTP/1.1\r\nHost: x\r\n\r\n")
    assert client.recv(65536).startswith(b"HTTP/1.1 200")
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset, not a polite close
    client.close()
    assert stack.worker.closed.wait(timeout=30)
    assert requests.get(f"{stack.base_url}/ok.csv", timeout=10).status_code == 200


def test_http_10_clients_get_the_body_until_close(stack: Stack) -> None:
    client = socket.create_connection((stack.host, stack.port), timeout=10)
    client.sendall(b"GET /ok.csv HTTP/1.0\r\n\r\n")
    received = b""
    while chunk := client.recv(65536):
        received += chunk
    client.close()
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"chunked" not in head.lower()
    assert body == b"".join(OK_BODY)


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND"], ids=str)
def test_unusual_methods_get_the_edge_405_not_an_html_501(stack: Stack, method: str) -> None:
    connection = http.client.HTTPConnection(stack.host, stack.port, timeout=10)
    try:
        connection.request(method, "/tree.csv")
        response = connection.getresponse()
        assert response.status == 405
        assert response.getheader("Content-Type") == "application/problem+json"
        assert response.getheader("Allow") == "GET, HEAD"
        response.read()
    finally:
        connection.close()


def test_a_connection_the_server_will_close_says_so(stack: Stack) -> None:
    connection = http.client.HTTPConnection(stack.host, stack.port, timeout=10)
    try:
        connection.request("POST", "/tree.csv", body=b"x" * 100_000)
        response = connection.getresponse()
        assert response.status == 405
        assert response.getheader("Connection") == "close"
        response.read()
    finally:
        connection.close()
