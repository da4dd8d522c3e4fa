"""The Lambda events the local server hands to the edge and the worker, shaped as AWS sends them.

CloudFront: "Lambda@Edge event structure" (viewer-request and origin-request; headers as lowercase names to
lists of ``{"key", "value"}``). Worker: "Lambda function URL invocation", payload version 2.0 (lowercase header
names, repeated headers comma-joined). Also the reverse for the edge: a generated response → status, headers,
body bytes.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

DISTRIBUTION_DOMAIN = "local.cloudfront.test"
DISTRIBUTION_ID = "ELOCALSTACK0001"
# Headers CloudFront forwards to the worker origin (the origin request policy), besides the edge's x-download-*.
FORWARDED_TO_WORKER = ("accept-encoding", "if-none-match", "x-amz-cf-id", "x-forwarded-for", "user-agent")


@dataclass(frozen=True)
class ViewerRequest:
    """What the local server knows of one viewer request before the edge sees it."""

    method: str
    uri: str
    querystring: str
    headers: tuple[tuple[str, str], ...]
    client_ip: str
    request_id: str


def cloudfront_headers(headers: Iterable[tuple[str, str]]) -> dict[str, list[dict[str, str]]]:
    """HTTP headers in CloudFront's event form.

    >>> cloudfront_headers([("Accept", "a"), ("accept", "b")])
    {'accept': [{'key': 'Accept', 'value': 'a'}, {'key': 'accept', 'value': 'b'}]}
    """
    result: dict[str, list[dict[str, str]]] = {}
    for name, value in headers:
        result.setdefault(name.lower(), []).append({"key": name, "value": value})
    return result


def flat_headers(cf_headers: Mapping[str, list[dict[str, str]]]) -> dict[str, str]:
    """CloudFront's header lists → lowercase names to comma-joined values (the Function URL form)."""
    return {name.lower(): ", ".join(entry["value"] for entry in entries) for name, entries in cf_headers.items()}


def _record(event_type: str, request_id: str, request: dict[str, Any]) -> dict[str, Any]:
    config = {
        "distributionDomainName": DISTRIBUTION_DOMAIN,
        "distributionId": DISTRIBUTION_ID,
        "eventType": event_type,
        "requestId": request_id,
    }
    return {"Records": [{"cf": {"config": config, "request": request}}]}


def viewer_request_event(viewer: ViewerRequest) -> dict[str, Any]:
    """The viewer-request event for one request, as CloudFront builds it before looking at its cache."""
    request = {
        "clientIp": viewer.client_ip,
        "headers": cloudfront_headers(viewer.headers),
        "method": viewer.method,
        "querystring": viewer.querystring,
        "uri": viewer.uri,
    }
    return _record("viewer-request", viewer.request_id, request)


def origin_request_event(
    viewer: ViewerRequest, request: Mapping[str, Any], worker_domain: str, accept_encoding: str
) -> dict[str, Any]:
    """The origin-request event after a cache miss: the (rewritten) request with the default worker origin.

    CloudFront sends the origin the normalised ``Accept-Encoding`` of its cache key, its own request id and
    ``X-Forwarded-For``; the viewer's other headers pass only if the origin request policy names them.
    """
    headers = dict(request.get("headers") or {})
    headers.pop("accept-encoding", None)
    if accept_encoding != "identity":
        headers["accept-encoding"] = [{"key": "Accept-Encoding", "value": accept_encoding}]
    headers["host"] = [{"key": "Host", "value": worker_domain}]
    headers["x-forwarded-for"] = [{"key": "X-Forwarded-For", "value": viewer.client_ip}]
    headers["x-amz-cf-id"] = [{"key": "X-Amz-Cf-Id", "value": viewer.request_id}]
    custom = {
        "customHeaders": {},
        "domainName": worker_domain,
        "keepaliveTimeout": 5,
        "path": "",
        "port": 443,
        "protocol": "https",
        "readTimeout": 30,
        "sslProtocols": ["TLSv1.2"],
    }
    origin_request = {
        "clientIp": viewer.client_ip,
        "headers": headers,
        "method": request.get("method", viewer.method),
        "origin": {"custom": custom},
        "querystring": request.get("querystring", viewer.querystring),
        "uri": request.get("uri", viewer.uri),
    }
    return _record("origin-request", viewer.request_id, origin_request)


def function_url_event(viewer: ViewerRequest, request: Mapping[str, Any]) -> dict[str, Any]:
    """The Function URL event (payload 2.0) CloudFront's request to the worker origin becomes.

    Only the headers the origin request policy forwards reach the worker, plus every ``x-download-*`` header
    the edge added.
    """
    all_headers = flat_headers(request.get("headers") or {})
    headers = {
        name: value
        for name, value in all_headers.items()
        if name in FORWARDED_TO_WORKER or name.startswith("x-download-") or name == "host"
    }
    method = str(request.get("method", viewer.method))
    path = str(request.get("uri", viewer.uri))
    now = time.time()
    domain = headers.get("host", "localhost")
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": str(request.get("querystring", "")),
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "local",
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": viewer.client_ip,
                "userAgent": headers.get("user-agent", "Amazon CloudFront"),
            },
            "requestId": viewer.request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }


def generated_response(result: Mapping[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """A response generated by the edge → ``(status, headers, body)``; ``body`` decoded per ``bodyEncoding``.

    >>> generated_response({"status": "302", "headers": {"location": [{"key": "Location", "value": "/x"}]}})
    (302, [('Location', '/x')], b'')
    """
    headers = [
        (entry.get("key", name), entry["value"])
        for name, entries in (result.get("headers") or {}).items()
        for entry in entries
    ]
    body_text = str(result.get("body") or "")
    base64_body = result.get("bodyEncoding") == "base64"
    body = base64.b64decode(body_text) if base64_body else body_text.encode("utf-8")
    return int(result["status"]), headers, body


def is_generated_response(result: Mapping[str, Any]) -> bool:
    """True when the edge answered with a response rather than returning the request to forward."""
    return "status" in result
