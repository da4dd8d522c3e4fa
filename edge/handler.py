"""The Lambda@Edge entry point: one function for the viewer-request and origin-request events.

viewer-request validates and rewrites the request to its canonical form (CloudFront computes the cache key
after this event, so this is what makes every spelling of a request share one cache entry); origin-request
runs on cache misses only, re-validates, routes, and signs a request it sends to a worker other than the one
CloudFront's origin access control signs. This module is the one place a :class:`~edge.errors.RequestError` or a
:class:`~edge.signing.SigningError` becomes a response.
"""

from __future__ import annotations

import time
from typing import Any

from edge import cloudfront
from edge.canonical import canonical_query, canonical_uri
from edge.config import EdgeConfig, current_region, load_config
from edge.contract import DownloadRequest, parse_request
from edge.errors import RequestError
from edge.headers import ORIGIN_REQUEST, VIEWER_REQUEST, drop_own_headers, set_header
from edge.router import Redirect, Worker, route
from edge.signing import SigningError, function_url_region, needs_signing, role_credentials, sign_origin_request
from edge.trace_context import TraceContext, format_trace_context

CACHE_KEY_HEADER = "X-Download-Cache-Key"
TRACE_HEADER = "X-Download-Trace"

EVENT_TYPES = frozenset({VIEWER_REQUEST, ORIGIN_REQUEST})

Result = dict[str, Any]


def handler(event: dict[str, Any], context: object = None) -> Result:
    """The Lambda entry point: a CloudFront request event → the request to forward, or a generated response."""
    return handle(event, load_config(), current_region())


def handle(event: dict[str, Any], config: EdgeConfig, region: str | None) -> Result:
    """:func:`handler` with its configuration and region given (the local stack and tests call this)."""
    started, clock = time.time(), time.perf_counter()
    kind = cloudfront.event_type(event)
    if kind not in EVENT_TYPES:
        raise ValueError(f"unsupported CloudFront event type {kind!r}: associate viewer-request and origin-request")
    cf_request = cloudfront.request_of(event)
    if cf_request["method"] == "OPTIONS":
        return cloudfront.preflight_response()
    try:
        request = parse_request(cf_request["method"], cf_request["uri"], cf_request.get("querystring") or "")
    except RequestError as error:
        return cloudfront.problem_response(error, config.cache.error_max_age)
    drop_own_headers(cf_request["headers"], kind)
    cf_request["uri"] = canonical_uri(request)
    cf_request["querystring"] = canonical_query(request)
    if kind == VIEWER_REQUEST:
        return cf_request
    return _route(event, request, config, region, (started, clock))


def _route(
    event: dict[str, Any], request: DownloadRequest, config: EdgeConfig, region: str | None, clock: tuple[float, float]
) -> Result:
    """origin-request: redirect the whole source, or point the request at a worker, sign it when it leaves the
    origin CloudFront chose, and stamp our headers."""
    decision = route(request, config, region)
    if isinstance(decision, Redirect):
        return cloudfront.redirect_response(decision.location, decision.max_age)
    cf_request = cloudfront.request_of(event)
    chosen = cloudfront.origin_domain(cf_request)
    cloudfront.point_at_custom_origin(cf_request, decision.domain)
    set_header(cf_request["headers"], CACHE_KEY_HEADER, request.canonical, ORIGIN_REQUEST)
    if needs_signing(chosen, decision.domain):
        try:
            _sign(cf_request, decision)
        except SigningError as error:
            return cloudfront.problem_response(error, config.cache.error_max_age)
    started, start_clock = clock
    duration = time.perf_counter() - start_clock
    trace = TraceContext(cloudfront.request_id(event), region or "unknown", started, duration, decision.decision)
    set_header(cf_request["headers"], TRACE_HEADER, format_trace_context(trace), ORIGIN_REQUEST)
    return cf_request


def _sign(cf_request: Result, worker: Worker) -> None:
    """SigV4 with the role's credentials, for the region in the Function URL (else the router's region)."""
    region = function_url_region(worker.domain) or worker.region
    sign_origin_request(cf_request, worker.domain, region, role_credentials())
