"""The local CloudFront distribution: viewer-request edge → cache → origin-request edge → worker or source.

This is the request path of DESIGN §4 without sockets: :class:`Distribution` turns one viewer request into a
:class:`Reply` (status, headers, body chunks); :mod:`dataset_downloads.server` sends it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from dataset_downloads import events
from dataset_downloads.cache import ResponseCache, normalise_accept_encoding
from dataset_downloads.static import (
    RESULTS_PREFIX,
    SOURCE_PREFIX,
    ObjectStore,
    StaticResponse,
    serve_result,
    serve_source,
)
from edge.problem import PROBLEM_CONTENT_TYPE, problem_document
from worker.headers import matches_if_none_match
from worker.response import Response

EdgeFunction = Callable[[dict[str, Any], Any], dict[str, Any]]
WorkerFunction = Callable[[dict[str, Any], Any], Response]

HIT = "Hit from cloudfront"
MISS = "Miss from cloudfront"
GENERATED = "LambdaGeneratedResponse from cloudfront"
ERROR = "Error from cloudfront"
VIA = "1.1 local.cloudfront.test (CloudFront)"

log = logging.getLogger("dataset_downloads.distribution")


@dataclass
class Reply:
    """What the server sends: status, headers (in order), the body chunks, and the ``x-cache`` verdict."""

    status: int
    headers: list[tuple[str, str]]
    body: Iterable[bytes] = ()
    cache: str = MISS
    notes: dict[str, str] = field(default_factory=dict)


def problem_reply(status: int, code: str, title: str, detail: str) -> Reply:
    """A ``no-store`` problem+json reply for failures of the distribution itself (edge or origin errors)."""
    body = problem_document(status, code, title, detail, [])
    headers = [
        ("Content-Type", PROBLEM_CONTENT_TYPE),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
    ]
    return Reply(status, headers, (body,), ERROR)


class Distribution:
    """One distribution with a download behaviour (edge + worker origin), a ``/source/*`` behaviour (S3) and,
    when ``results`` is given, a ``/results/*`` behaviour (the results store).
    """

    def __init__(
        self,
        edge: EdgeFunction,
        worker: WorkerFunction,
        store: ObjectStore,
        cache: ResponseCache,
        origin_domain: str = "worker.local",
        *,
        results: ObjectStore | None = None,
    ) -> None:
        self.edge = edge
        self.results = results
        self.origin_domain = origin_domain
        self.worker = worker
        self.store = store
        self.cache = cache

    def respond(self, viewer: events.ViewerRequest) -> Reply:
        """Answer one viewer request the way CloudFront would with our two edge triggers associated."""
        if viewer.uri.startswith(SOURCE_PREFIX):
            return self._source(viewer, viewer.uri)
        if viewer.uri.startswith(RESULTS_PREFIX) and self.results is not None:
            return self._source(viewer, viewer.uri, results=True)
        try:
            result = self.edge(events.viewer_request_event(viewer), None)
        except Exception:
            log.exception("viewer-request edge function failed")
            return problem_reply(502, "edge-failed", "Edge function failed", "The viewer-request function failed.")
        if events.is_generated_response(result):
            return _generated(result, GENERATED)
        encoding = normalise_accept_encoding(_header(viewer, "accept-encoding"))
        query = str(result.get("querystring") or "")
        key = f"{result.get('uri', viewer.uri)}{'?' + query if query else ''} {encoding}"
        hit = self._cached(key, viewer)
        return hit if hit is not None else self._miss(viewer, result, key, encoding)

    def _cached(self, key: str, viewer: events.ViewerRequest) -> Reply | None:
        entry = self.cache.get(key)
        if entry is None:
            return None
        headers = [*entry.headers, ("Age", str(self.cache.age(entry)))]
        etag = next((v for n, v in entry.headers if n.lower() == "etag"), None)
        if etag is not None and matches_if_none_match(_header(viewer, "if-none-match"), etag):
            # what RFC 9110 §15.4.5 says a 304 repeats, and the headers every response of ours carries
            keep = {"etag", "cache-control", "last-modified", "vary", "age", "x-download-trace-id"}
            keep.add("access-control-allow-origin")
            return Reply(304, [(n, v) for n, v in headers if n.lower() in keep], (), HIT, {"key": key})
        body = () if viewer.method == "HEAD" else (entry.body,)
        if not any(n.lower() == "content-length" for n, _ in headers):
            headers.append(("Content-Length", str(len(entry.body))))
        return Reply(entry.status, headers, body, HIT, {"key": key})

    def _miss(self, viewer: events.ViewerRequest, request: dict[str, Any], key: str, encoding: str) -> Reply:
        event = events.origin_request_event(viewer, request, self.origin_domain, encoding)
        try:
            result = self.edge(event, None)
        except Exception:
            log.exception("origin-request edge function failed")
            return problem_reply(502, "edge-failed", "Edge function failed", "The origin-request function failed.")
        if events.is_generated_response(result):
            reply = _generated(result, MISS)
            self.cache.put(key, reply.status, reply.headers, b"".join(reply.body))
            return reply
        if "s3" in (result.get("origin") or {}):
            return self._source(viewer, str(result.get("uri", viewer.uri)))
        return self._worker(viewer, result, key)

    def _worker(self, viewer: events.ViewerRequest, request: dict[str, Any], key: str) -> Reply:
        try:
            response = self.worker(events.function_url_event(viewer, request), None)
        except Exception:
            log.exception("worker failed before responding")
            return problem_reply(502, "origin-failed", "Origin failed", "The download worker failed to respond.")
        headers = [(name, value) for name, value in response.headers.items()]
        headers.append(("Via", VIA))
        body: Iterable[bytes] = response.body
        if viewer.method == "GET":
            body = self.cache.collect(key, response.status, headers, body)
        return Reply(response.status, headers, body, MISS, {"key": key})

    def _source(self, viewer: events.ViewerRequest, uri: str, *, results: bool = False) -> Reply:
        if viewer.method not in ("GET", "HEAD"):
            reply = problem_reply(405, "method-not-allowed", "Method not allowed", "Use GET or HEAD.")
            reply.headers.append(("Allow", "GET, HEAD"))
            return reply
        lowered = {name.lower(): value for name, value in viewer.headers}
        try:
            static = self._static(viewer.method, uri, lowered, results)
        except Exception:
            log.exception("source object could not be read")
            return problem_reply(502, "source-unavailable", "Source unavailable", "The source could not be read.")
        return Reply(static.status, [*static.headers, ("Via", VIA)], static.body, MISS)

    def _static(self, method: str, uri: str, headers: dict[str, str], results: bool) -> StaticResponse:
        if results and self.results is not None:
            return serve_result(self.results, method, uri, headers)
        return serve_source(self.store, method, uri, headers)


def _generated(result: dict[str, Any], verdict: str) -> Reply:
    status, headers, body = events.generated_response(result)
    if status not in (204, 304) and not any(n.lower() == "content-length" for n, _ in headers):
        headers.append(("Content-Length", str(len(body))))
    return Reply(status, headers, (body,) if body else (), verdict)


def _header(viewer: events.ViewerRequest, name: str) -> str | None:
    return next((value for key, value in viewer.headers if key.lower() == name), None)
