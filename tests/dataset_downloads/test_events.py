"""Event shapes: CloudFront's Lambda@Edge request events and the Function URL payload 2.0."""

from __future__ import annotations

import base64

from dataset_downloads.events import (
    ViewerRequest,
    function_url_event,
    generated_response,
    origin_request_event,
    viewer_request_event,
)

VIEWER = ViewerRequest(
    "GET",
    "/Tree.CSV",
    "limit=5",
    (("Host", "example.test"), ("Accept-Encoding", "gzip, br"), ("X-Thing", "1"), ("x-thing", "2")),
    "203.0.113.9",
    "req-1",
)


def test_viewer_request_event() -> None:
    event = viewer_request_event(VIEWER)
    cf = event["Records"][0]["cf"]
    assert cf["config"]["eventType"] == "viewer-request"
    assert cf["config"]["requestId"] == "req-1"
    request = cf["request"]
    assert (request["method"], request["uri"], request["querystring"], request["clientIp"]) == (
        "GET",
        "/Tree.CSV",
        "limit=5",
        "203.0.113.9",
    )
    assert request["headers"]["x-thing"] == [{"key": "X-Thing", "value": "1"}, {"key": "x-thing", "value": "2"}]


def test_origin_request_event_normalises_accept_encoding() -> None:
    rewritten = {**viewer_request_event(VIEWER)["Records"][0]["cf"]["request"], "uri": "/tree.csv"}
    event = origin_request_event(VIEWER, rewritten, "127.0.0.1:9", "gzip")
    cf = event["Records"][0]["cf"]
    assert cf["config"]["eventType"] == "origin-request"
    request = cf["request"]
    assert request["uri"] == "/tree.csv"
    assert request["origin"]["custom"]["domainName"] == "127.0.0.1:9"
    assert request["headers"]["accept-encoding"] == [{"key": "Accept-Encoding", "value": "gzip"}]
    assert request["headers"]["x-amz-cf-id"][0]["value"] == "req-1"
    identity = origin_request_event(VIEWER, rewritten, "127.0.0.1:9", "identity")
    assert "accept-encoding" not in identity["Records"][0]["cf"]["request"]["headers"]


def test_function_url_event_forwards_only_policy_headers() -> None:
    request = origin_request_event(VIEWER, viewer_request_event(VIEWER)["Records"][0]["cf"]["request"], "w", "gzip")
    cf_request = request["Records"][0]["cf"]["request"]
    cf_request["headers"]["x-download-cache-key"] = [{"key": "X-Download-Cache-Key", "value": "/tree.csv"}]
    event = function_url_event(VIEWER, cf_request)
    assert event["version"] == "2.0"
    assert (event["rawPath"], event["rawQueryString"]) == ("/Tree.CSV", "limit=5")
    assert event["headers"]["x-download-cache-key"] == "/tree.csv"
    assert event["headers"]["accept-encoding"] == "gzip"
    assert "x-thing" not in event["headers"]
    http = event["requestContext"]["http"]
    assert (http["method"], http["path"], http["sourceIp"]) == ("GET", "/Tree.CSV", "203.0.113.9")
    assert event["requestContext"]["requestId"] == "req-1"


def test_generated_response_decodes_base64() -> None:
    headers = {"content-type": [{"key": "Content-Type", "value": "text/plain"}]}
    result = {
        "status": "200",
        "headers": headers,
        "body": base64.b64encode(b"\x00hi").decode(),
        "bodyEncoding": "base64",
    }
    assert generated_response(result) == (200, [("Content-Type", "text/plain")], b"\x00hi")
