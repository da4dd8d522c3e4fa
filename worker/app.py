"""The worker's HTTP handler: a Lambda Function URL event (payload 2.0) → :class:`~worker.response.Response`.

No sockets and no environment beyond the settings it is given: transports (the Lambda streaming runtime, the
buffered handler, the local server) send what it returns. Every error that can be known before the first byte
becomes a problem+json response here: the handler pulls the first body chunk before it returns.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from edge.contract import DownloadRequest, Format, parse_request
from edge.errors import MethodNotAllowed, RequestError
from edge.problem import PROBLEM_CONTENT_TYPE, problem_body, problem_document
from worker.compress import accepts_gzip, gzip_chunks
from worker.config import TRACE_HEADER_ENV, WorkerSettings
from worker.encoders import ENCODERS, FormatSpec
from worker.encoders.geojson import geometry_column
from worker.errors import WorkerError
from worker.headers import content_disposition, etag, filename, http_date, matches_if_none_match
from worker.logging import log_request
from worker.response import Response
from worker.scan import ScanPlan, execute, open_parquet, plan_scan
from worker.source import Source, SourceObject, source_from_url
from worker.traced_body import traced_body, traced_iter
from worker.tracing import RequestTrace, Tracer, make_tracer, record_edge


class Closeable(Protocol):
    """Anything with ``close()``: the open source file a stream must release."""

    def close(self) -> None: ...


class LambdaContext(Protocol):
    """The parts of Lambda's context object the worker uses (tests pass any object with these)."""

    aws_request_id: str

    def get_remaining_time_in_millis(self) -> int: ...


class App:
    """The worker application, built once per process from its settings."""

    def __init__(self, settings: WorkerSettings, source: Source | None = None, tracer: Tracer | None = None) -> None:
        self.settings = settings
        self.source = source if source is not None else source_from_url(settings.source)
        self.tracer = tracer if tracer is not None else make_tracer()

    def handle(self, event: Mapping[str, Any], context: LambdaContext | None = None) -> Response:
        """Answer one Function URL event: a problem+json error, a 304, headers only (HEAD), or a stream."""
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        http = event.get("requestContext", {}).get("http", {})
        trace_header = os.environ.get(TRACE_HEADER_ENV)  # set per invocation by the runtime loop
        with self.tracer.request(name="worker", trace_header=trace_header, on_end=log_request) as trace:
            record_edge(trace, headers.get("x-download-trace"))
            trace.annotate("cf_request_id", headers.get("x-amz-cf-id", ""))
            trace.annotate("cache_key", headers.get("x-download-cache-key", ""))
            try:
                request = parse_request(
                    str(http.get("method", "")), str(event.get("rawPath", "")), str(event.get("rawQueryString", ""))
                )
                trace.annotate("dataset", request.dataset)
                trace.annotate("format", request.format.value)
                trace.annotate("canonical_request", request.canonical)
                response = self._answer(request, headers, trace)
            except (RequestError, WorkerError) as error:
                trace.annotate("error_code", error.code)
                response = self._problem(error)
            trace.annotate("status", response.status)
            response.headers["x-download-trace-id"] = trace.trace_id
            return response

    def _answer(self, request: DownloadRequest, headers: Mapping[str, str], trace: RequestTrace) -> Response:
        spec = ENCODERS[request.format]
        with trace.subsegment("open") as span:
            obj = self.source.stat(request.dataset)
            encoding = "gzip" if spec.compressible and accepts_gzip(headers.get("accept-encoding")) else "identity"
            out = self._success_headers(request, spec, obj, encoding)
            if matches_if_none_match(headers.get("if-none-match"), out["etag"]):
                keep = ("etag", "cache-control", "last-modified", "vary", "access-control-allow-origin")
                return Response(304, {k: v for k, v in out.items() if k in keep})
            readable = self.source.open(obj)
            try:
                parquet = open_parquet(readable)
                plan = plan_scan(parquet, request)
                if request.format is Format.GEOJSON:
                    geometry_column(plan.output_schema)
            except BaseException:
                readable.close()
                raise
            span.annotate("row_groups_total", plan.row_groups_total)
        trace.annotate("row_groups_total", plan.row_groups_total)
        if request.method == "HEAD":
            readable.close()
            return Response(200, out)
        batches = traced_iter(trace, "scan", execute(parquet, plan, request))
        chunks = traced_iter(trace, "encode", spec.encoder(plan.output_schema, batches))
        if encoding == "gzip":
            chunks = gzip_chunks(chunks, self.settings.gzip_level)
        body = _started(_annotated(chunks, trace, plan, readable), readable)
        return Response(200, out, traced_body(trace, body))

    def _success_headers(
        self, request: DownloadRequest, spec: FormatSpec, obj: SourceObject, encoding: str
    ) -> dict[str, str]:
        max_age = self.settings.filtered_max_age if request.is_filtered else self.settings.unfiltered_max_age
        out = {
            "content-type": spec.content_type,
            "content-disposition": content_disposition(filename(request, spec.extension)),
            "cache-control": f"public, max-age={max_age}",
            "etag": etag(obj.version, request.canonical, encoding),
            "last-modified": http_date(obj.last_modified),
            "vary": "Accept-Encoding",
            "access-control-allow-origin": "*",
        }
        if encoding == "gzip":
            out["content-encoding"] = "gzip"
        return out

    def _problem(self, error: RequestError | WorkerError) -> Response:
        if isinstance(error, RequestError):
            body = problem_body(error)
        else:
            invalid = [{"name": p.name, "reason": p.reason} for p in error.invalid_params]
            body = problem_document(error.status, error.code, error.title, error.detail, invalid)
        cache = f"public, max-age={self.settings.error_max_age}" if error.status < 500 else "no-store"
        headers = {
            "content-type": PROBLEM_CONTENT_TYPE,
            "cache-control": cache,
            "access-control-allow-origin": "*",
        }
        if isinstance(error, MethodNotAllowed):
            headers["allow"] = "GET, HEAD"
        return Response(error.status, headers, [body])


def _annotated(chunks: Iterator[bytes], trace: RequestTrace, plan: ScanPlan, readable: object) -> Iterator[bytes]:
    """Pass ``chunks`` through, then annotate what the scan did (known only at the end of the stream)."""
    try:
        yield from chunks
    finally:
        trace.annotate("rows", plan.stats.rows_out)
        trace.annotate("row_groups_read", plan.stats.row_groups_read)
        trace.annotate("bytes_read", int(getattr(readable, "bytes_read", 0)))


def _started(chunks: Iterator[bytes], resource: Closeable) -> Iterator[bytes]:
    """Pull the first chunk now, so errors raised before any byte exists still become a problem response;
    the returned generator closes ``chunks`` and ``resource`` however it ends (done, failed, or closed early).
    """
    try:
        first = next(chunks, None)
    except BaseException:
        resource.close()
        raise

    def rest() -> Iterator[bytes]:
        try:
            if first is not None:
                yield first
                yield from chunks
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
            resource.close()

    return rest()


_app: App | None = None


def handle(event: Mapping[str, Any], context: LambdaContext | None = None) -> Response:
    """The module-level entry point: builds the :class:`App` from the environment on first use."""
    global _app  # noqa: PLW0603  # one App per process, built lazily so importing stays cheap
    if _app is None:
        _app = App(WorkerSettings.from_env())
    return _app.handle(event, context)
