"""How a failure looks to each party: a problem+json response, a Runtime API error report, one log line.

Shared by the streaming loop and the buffered handler. Exception text reaches only the log line (CloudWatch):
the HTTP body carries a :class:`~worker.errors.WorkerError`'s own detail (written to be shown) or a generic
message, and the error report sent to Lambda does the same.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import ClassVar, TextIO

from edge.errors import Problem
from edge.problem import PROBLEM_CONTENT_TYPE, problem_body, problem_document
from worker.config import TRACE_HEADER_ENV
from worker.errors import WorkerError
from worker.response import Response
from worker.runtime.client import ErrorReport
from worker.tracing import parse_trace_header

_GENERIC_DETAIL = "The worker failed to produce the response."


class DeadlineApproaching(WorkerError):
    """Lambda's timeout is closer than the configured margin: stop now and fail visibly, not by truncation."""

    status = 504
    code = "deadline-exceeded"
    title = "Worker ran out of time"
    error_type: ClassVar[str] = "Runtime.DeadlineApproaching"


def problem_response(error: Exception) -> Response:
    """The problem+json response for an error raised before the first byte.

    A :class:`~edge.errors.Problem` (any worker or request error) keeps its own status, code and detail; anything
    else is a 500 ``internal-error``. Example: ``problem_response(SourceBusy("S3 throttled")).status == 503``.
    """
    if isinstance(error, Problem):
        body = problem_body(error)
        status = error.status
    else:
        body = problem_document(500, WorkerError.code, WorkerError.title, _GENERIC_DETAIL, [])
        status = 500
    # A fallback error must never be cached: the next request may well succeed.
    headers = {
        "content-type": PROBLEM_CONTENT_TYPE,
        "cache-control": "no-store",
        "content-length": str(len(body)),
        "access-control-allow-origin": "*",
    }
    trace_id = parse_trace_header(os.environ.get(TRACE_HEADER_ENV)).root  # None unless a well-formed Root
    if trace_id:
        headers["x-download-trace-id"] = trace_id
    return Response(status, headers, [body])


def error_report(error: BaseException) -> ErrorReport:
    """The error document for Lambda (trailers or ``/error``): the class name as type, a safe message.

    Example: ``error_report(KeyError("x")).error_type == "KeyError"``.
    """
    if isinstance(error, DeadlineApproaching):
        return ErrorReport(DeadlineApproaching.error_type, error.detail)
    if isinstance(error, WorkerError):
        return ErrorReport(type(error).__name__, f"{error.code}: {error.detail}")
    return ErrorReport(type(error).__name__, _GENERIC_DETAIL)


def log_failure(phase: str, request_id: str, error: BaseException, stream: TextIO | None = None) -> None:
    """Write one JSON line describing the failure (with its traceback) to stderr."""
    record = {
        "level": "ERROR",
        "event": "invocation-failed" if phase != "init" else "init-failed",
        "phase": phase,
        "requestId": request_id,
        "errorType": type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_exception(error),
    }
    out = sys.stderr if stream is None else stream
    out.write(json.dumps(record, ensure_ascii=True, separators=(",", ":")) + "\n")
    out.flush()
