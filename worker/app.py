"""The worker's HTTP handler: a Lambda Function URL event (payload 2.0) → :class:`~worker.response.Response`.

No sockets and no environment beyond the settings it is given: transports (the Lambda streaming runtime, the
buffered handler, the local server) send what it returns. Every error that can be known before the first byte
becomes a problem+json response here: the handler pulls the first body chunk before it returns.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow.parquet as pq

from edge.contract import DownloadRequest, Format, parse_request
from edge.errors import Problem
from edge.problem import problem_body, problem_headers
from worker.body import annotated, started
from worker.compress import accepts_gzip, gzip_chunks, implementation
from worker.config import TRACE_HEADER_ENV, WorkerSettings
from worker.delivery import Delivery
from worker.encoders import ENCODERS, FormatSpec
from worker.encoders.geojson import geometry_column
from worker.estimate import estimate_result
from worker.headers import content_disposition, etag, filename, http_date, matches_if_none_match
from worker.logging import log_request
from worker.parallelism import process_at_once
from worker.prefetch import prefetched_in_order
from worker.response import Response
from worker.results import RESULT_REVISION, ResultMeta, ResultStore, result_name, results_from_url
from worker.scan import ScanPlan, execute, open_parquet, plan_scan
from worker.source import ReadableSource, Source, SourceObject, source_from_url
from worker.traced_body import traced_body, traced_iter
from worker.tracing import RequestTrace, Tracer, make_tracer, record_edge

# A stored result's name contains the source version: it never changes, so caches may keep it for a year.
RESULT_MAX_AGE = 31_536_000
# Two at once (worker/parallelism.py) a gzip'd download's chunks are rendered on their own thread while the caller's
# compresses the ones before, at most this far ahead.
GZIP_AHEAD_BYTES = 4 * 1024 * 1024
Opened = tuple[ReadableSource, pq.ParquetFile, ScanPlan]


@dataclass(frozen=True)
class Job:
    """One accepted GET or HEAD: what is asked, of which source version, and the headers of its 200."""

    request: DownloadRequest
    spec: FormatSpec
    obj: SourceObject
    encoding: str
    headers: dict[str, str]
    name: str  # the result's name in the results store


class LambdaContext(Protocol):
    """The parts of Lambda's context object the worker uses (tests pass any object with these)."""

    aws_request_id: str

    def get_remaining_time_in_millis(self) -> int: ...


class App:
    """The worker application, built once per process from its settings."""

    def __init__(
        self,
        settings: WorkerSettings,
        source: Source | None = None,
        tracer: Tracer | None = None,
        results: ResultStore | None = None,
    ) -> None:
        self.settings = settings
        self.source = source if source is not None else source_from_url(settings.source)
        self.tracer = tracer if tracer is not None else make_tracer()
        if results is None and settings.results_url:
            results = results_from_url(settings.results_url)
        self.delivery = None if results is None else Delivery.from_settings(results, settings)

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
            except Problem as error:
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
            conditional = headers.get("if-none-match")
            # A named tag can only have come from a 200 of ours: answer without reading data. "*" names no tag,
            # so it waits until the request has proved valid (an unknown column is a 400, not a 304).
            if conditional and conditional.strip() != "*" and matches_if_none_match(conditional, out["etag"]):
                return _not_modified(out)
            job = Job(
                request, spec, obj, encoding, out, result_name(request.canonical, obj.version, encoding, spec.extension)
            )
            if self.delivery is not None and self.delivery.find(job.name):
                trace.annotate("delivery", "stored")
                return _redirect(self.delivery, job)
            opened = self._open(obj, request)
            span.annotate("row_groups_total", opened[2].row_groups_total)
            if conditional and conditional.strip() == "*":
                opened[0].close()
                return _not_modified(out)
        trace.annotate("row_groups_total", opened[2].row_groups_total)
        # A HEAD answers what the GET would: a large result is stored and redirected to for both (a CDN may
        # cache the HEAD's answer under the GET's key), a small one gets the 200's headers without a body.
        if self.delivery is not None and self._is_large(job, opened, trace):
            return self._deliver(self.delivery, job, opened, trace)
        if request.method == "HEAD":
            opened[0].close()
            return Response(200, out)
        trace.annotate("delivery", "stream")
        return Response(200, out, traced_body(trace, started(self._chunks(job, opened, trace), opened[0])))

    def _open(self, obj: SourceObject, request: DownloadRequest) -> Opened:
        """Open the pinned source, read its footer and plan the scan (every 400 is decided here)."""
        readable = self.source.open(obj)
        try:
            parquet = open_parquet(readable)
            plan = plan_scan(parquet, request)
            if request.format is Format.GEOJSON:
                geometry_column(plan.output_schema)
        except BaseException:
            readable.close()
            raise
        return readable, parquet, plan

    def _is_large(self, job: Job, opened: Opened, trace: RequestTrace) -> bool:
        """Whether the result, as delivered, is estimated above the threshold (see worker/estimate.py)."""
        threshold = self.settings.results_threshold
        with trace.subsegment("estimate") as span:
            estimate = estimate_result(opened[1], opened[2], job.request, job.encoding == "gzip", threshold)
            span.annotate("estimated_bytes", estimate.bytes)
        trace.annotate("estimated_bytes", estimate.bytes)
        return estimate.bytes > threshold

    def _chunks(self, job: Job, opened: Opened, trace: RequestTrace) -> Iterator[bytes]:
        """The result's bytes: scan → encode → gzip (when asked), annotated with what the scan did."""
        readable, parquet, plan = opened
        batches = traced_iter(trace, "scan", execute(parquet, plan, job.request))
        chunks = traced_iter(trace, "encode", job.spec.encoder(plan.output_schema, batches))
        if job.encoding == "gzip":
            if process_at_once() > 1:
                chunks = _rendered_ahead(chunks)
            chunks = gzip_chunks(chunks, self.settings.gzip_level)
        return annotated(chunks, trace, plan, readable)

    def _deliver(self, delivery: Delivery, job: Job, opened: Opened, trace: RequestTrace) -> Response:
        """Store a large result (once) and redirect to it; stream it when the store cannot help."""
        meta = ResultMeta(
            content_type=job.spec.content_type,
            content_disposition=job.headers["content-disposition"],
            cache_control=f"public, max-age={RESULT_MAX_AGE}, immutable",
            content_encoding=job.headers.get("content-encoding"),
        )
        scanned = False

        def chunks() -> Iterator[bytes]:
            nonlocal scanned
            scanned = True  # on the store's first next(): only then does the scan start reading
            yield from self._chunks(job, opened, trace)

        try:
            with trace.subsegment("store"):
                how = delivery.store_result(job.name, meta, chunks)
            trace.annotate("delivery", how)
        except BaseException:
            opened[0].close()
            raise
        if how != "stream":
            opened[0].close()
            return _redirect(delivery, job)
        if scanned:  # a write that failed consumed (part of) this scan: stream from a fresh one
            opened[0].close()
            opened = self._open(job.obj, job.request)
        return Response(200, job.headers, traced_body(trace, started(self._chunks(job, opened, trace), opened[0])))

    def _success_headers(
        self, request: DownloadRequest, spec: FormatSpec, obj: SourceObject, encoding: str
    ) -> dict[str, str]:
        max_age = self.settings.filtered_max_age if request.is_filtered else self.settings.unfiltered_max_age
        out = {
            "content-type": spec.content_type,
            "content-disposition": content_disposition(filename(request, spec.extension)),
            "cache-control": f"public, max-age={max_age}",
            "etag": etag(obj.version, request.canonical, self._representation(encoding)),
            "last-modified": http_date(obj.last_modified),
            "vary": "Accept-Encoding",
            "access-control-allow-origin": "*",
        }
        if encoding == "gzip":
            out["content-encoding"] = "gzip"
        return out

    def _representation(self, encoding: str) -> str:
        """What, beside the source version and the request, decides the bytes: the output revision and, for
        gzip, the level and the deflate implementation (ISA-L and zlib compress differently)."""
        if encoding == "gzip":
            level = self.settings.gzip_level
            encoding = f"gzip/{level}/{implementation(level)}"
        return f"{RESULT_REVISION}/{encoding}"

    def _problem(self, error: Problem) -> Response:
        headers = {name.lower(): value for name, value in problem_headers(error, self.settings.error_max_age)}
        return Response(error.status, headers, [problem_body(error)])


def _rendered_ahead(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """``chunks`` encoded on a thread of their own, up to :data:`GZIP_AHEAD_BYTES` ahead of the compressor, so the
    next chunks are rendered while these are compressed (ISA-L and the encoders' kernels release the GIL)."""
    return prefetched_in_order([lambda: chunks], window=1, budget=GZIP_AHEAD_BYTES, cost=len)


def _not_modified(headers: Mapping[str, str]) -> Response:
    """The 304 for a matching ``If-None-Match``: the validators and caching headers of the 200, no body."""
    keep = ("etag", "cache-control", "last-modified", "vary", "access-control-allow-origin")
    return Response(304, {k: v for k, v in headers.items() if k in keep})


def _redirect(delivery: Delivery, job: Job) -> Response:
    """302 to the stored result. Cached no longer than the streamed response would be: the Location names one
    source version, the request URL does not, so a republished dataset is seen as soon as it would be.
    """
    keep = ("cache-control", "vary", "access-control-allow-origin", "last-modified")
    headers = {k: v for k, v in job.headers.items() if k in keep}
    headers["location"] = delivery.location(job.name)
    headers["content-length"] = "0"
    return Response(302, headers)


_app: App | None = None


def handle(event: Mapping[str, Any], context: LambdaContext | None = None) -> Response:
    """The module-level entry point: builds the :class:`App` from the environment on first use."""
    global _app  # noqa: PLW0603  # one App per process, built lazily so importing stays cheap
    if _app is None:
        _app = App(WorkerSettings.from_env())
    return _app.handle(event, context)
