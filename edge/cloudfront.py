"""The CloudFront adapter: Lambda@Edge request events in, requests or generated responses out.

Shapes follow AWS's "Lambda@Edge event structure" and "Generating HTTP responses in request triggers":
``status`` is a string, headers are ``{lowercase-name: [{"key", "value"}]}``, the body is text, and a 204 has
no body (CloudFront answers 502 otherwise).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from edge.errors import Problem
from edge.headers import ORIGIN_REQUEST, Headers, build_headers, set_header
from edge.problem import ALLOWED_METHODS, problem_body, problem_headers

Event = dict[str, Any]
CfRequest = dict[str, Any]
CfResponse = dict[str, Any]

PREFLIGHT_MAX_AGE = 86400
_LOOPBACK = ("127.", "localhost")


def is_loopback(host: str) -> bool:
    """True for a host (without port) of the local stack: reached over plain http, and never signed.

    >>> is_loopback("127.0.0.1"), is_loopback("abc.lambda-url.eu-west-2.on.aws")
    (True, False)
    """
    return host.startswith(_LOOPBACK)


def default_custom_origin() -> dict[str, Any]:
    """A fresh custom origin that replaces an S3 one (fields and ranges as "Lambda@Edge event structure" lists).

    ``readTimeout`` is the wait for the first byte and between packets: the worker may scan before streaming.
    """
    return {
        "customHeaders": {},
        "keepaliveTimeout": 5,
        "path": "",
        "port": 443,
        "protocol": "https",
        "readTimeout": 60,
        "sslProtocols": ["TLSv1.2"],
    }


def event_type(event: Event) -> str:
    """``Records[0].cf.config.eventType``; a malformed event is a ``ValueError`` (misconfiguration)."""
    try:
        return str(event["Records"][0]["cf"]["config"]["eventType"])
    except (KeyError, IndexError, TypeError):
        raise ValueError("not a CloudFront Lambda@Edge event: Records[0].cf.config.eventType is missing") from None


def request_of(event: Event) -> CfRequest:
    """The mutable ``Records[0].cf.request`` object: the handler returns it (modified) to forward it."""
    request: CfRequest = event["Records"][0]["cf"]["request"]
    return request


def request_id(event: Event) -> str:
    """CloudFront's request id (``cf.config.requestId``), or ``-`` when the event has none."""
    return str(event["Records"][0]["cf"]["config"].get("requestId") or "-")


def _status_line(status: int) -> tuple[str, str]:
    return str(status), HTTPStatus(status).phrase


def generated_response(status: int, headers: Headers, body: str | None = None) -> CfResponse:
    """A response CloudFront returns instead of forwarding the request."""
    code, description = _status_line(status)
    response: CfResponse = {"status": code, "statusDescription": description, "headers": headers}
    if body is not None:
        response["body"] = body
    return response


def problem_response(error: Problem, error_max_age: int) -> CfResponse:
    """The problem+json response for a refused request (cacheable for ``error_max_age`` seconds), or for an edge
    failure (5xx: ``no-store``, so a recovered edge or origin is seen at once)."""
    headers = build_headers(tuple(problem_headers(error, error_max_age)))
    return generated_response(error.status, headers, problem_body(error).decode("ascii"))


def preflight_response() -> CfResponse:
    """The CORS preflight answer to ``OPTIONS``: 204, no body."""
    pairs = (
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Allow-Methods", ALLOWED_METHODS),
        ("Access-Control-Allow-Headers", "*"),
        ("Access-Control-Max-Age", str(PREFLIGHT_MAX_AGE)),
        ("Allow", f"{ALLOWED_METHODS}, OPTIONS"),
    )
    return generated_response(HTTPStatus.NO_CONTENT, build_headers(pairs))


def redirect_response(location: str, max_age: int) -> CfResponse:
    """A cacheable ``302`` to ``location`` (the whole-source Parquet object)."""
    pairs = (
        ("Location", location),
        ("Cache-Control", f"public, max-age={max_age}"),
        ("Access-Control-Allow-Origin", "*"),
    )
    return generated_response(HTTPStatus.FOUND, build_headers(pairs))


def origin_domain(request: CfRequest) -> str | None:
    """The domain of the origin CloudFront chose for ``request`` (custom or S3), lower-cased; None without one."""
    origin = request.get("origin") or {}
    for kind in ("custom", "s3"):
        domain = (origin.get(kind) or {}).get("domainName")
        if domain:
            return str(domain).lower()
    return None


def point_at_custom_origin(request: CfRequest, domain: str) -> None:
    """Send ``request`` to ``domain`` (``hostname[:port]``): set ``origin.custom`` and the ``host`` header.

    An S3 origin is replaced by a custom one; an existing custom origin keeps its other settings (custom
    headers, timeouts). ``domainName`` may not contain a colon, so a port goes to ``port``; loopback hosts (the
    local stack) are reached over plain http.
    """
    host, _, port = domain.partition(":")
    origin = request.get("origin") or {}
    custom = dict(origin.get("custom") or default_custom_origin())
    custom["domainName"] = host
    loopback = is_loopback(host)
    custom["protocol"] = "http" if loopback else "https"
    custom["port"] = int(port) if port else (80 if loopback else 443)
    request["origin"] = {"custom": custom}
    set_header(request["headers"], "Host", domain, ORIGIN_REQUEST)
