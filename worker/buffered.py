"""The worker run buffered: the Function URL response dict, for direct (non-streaming) invocations.

Lambda caps a buffered response at 6 MB, so the body is read up to that limit and no further: a larger
response becomes a ``502 response-too-large`` problem, never a truncated body. Because nothing is sent before
the handler returns, every failure here, even one raised half-way through the body, is a proper problem+json
response (see docs/runtime.md, "Buffered mode").
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from typing import Any

from worker.errors import WorkerError
from worker.response import Response, close_iterator
from worker.runtime.failure import log_failure, problem_response

# Lambda's quota for a synchronous invocation's response payload: 6 MB (the serialised dict, not just the body).
MAX_BUFFERED_RESPONSE = 6 * 1024 * 1024
_TEXT_MEDIA_TYPES = frozenset(
    {"application/json", "application/x-ndjson", "application/xml", "application/javascript", "image/svg+xml"}
)

BufferedHandler = Callable[[dict[str, Any], Any], Response]


class ResponseTooLarge(WorkerError):
    """The response does not fit in Lambda's buffered payload limit; the streaming Function URL has no such cap."""

    status = 502
    code = "response-too-large"
    title = "Response too large for a buffered invocation"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point for buffered invocations: ``worker.buffered.handler`` on the managed runtime."""
    from worker.app import handle  # noqa: PLC0415  # the app is built on first use, not when this module loads

    return run_buffered(handle, event, context)


def run_buffered(
    handle: BufferedHandler, event: dict[str, Any], context: Any, limit: int = MAX_BUFFERED_RESPONSE
) -> dict[str, Any]:
    """Run ``handle`` to completion and return the Function URL result dict (a problem dict on any failure)."""
    try:
        response = handle(event, context)
        body = read_limited(response.body, limit)
        result = function_url_result(response.status, response.headers, body)
        if len(json.dumps(result)) > limit:
            raise ResponseTooLarge(_too_large_detail(limit))
    except Exception as error:
        log_failure("buffered", str(getattr(context, "aws_request_id", "")), error)
        problem = problem_response(error)
        return function_url_result(problem.status, problem.headers, b"".join(problem.body))
    return result


def read_limited(body: Iterable[bytes], limit: int) -> bytes:
    """Join ``body``'s chunks, stopping (and closing ``body``) as soon as more than ``limit`` bytes arrive.

    Example: ``read_limited([b"ab", b"c"], 3) == b"abc"``; with ``limit=2`` it raises :class:`ResponseTooLarge`.
    """
    parts: list[bytes] = []
    size = 0
    chunks = iter(body)
    try:
        for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise ResponseTooLarge(_too_large_detail(limit))
            parts.append(chunk)
    finally:
        close_iterator(chunks)
    return b"".join(parts)


def function_url_result(status: int, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """The Function URL (payload 2.0) response dict; binary or compressed bodies are base64-encoded.

    >>> function_url_result(200, {"content-type": "text/csv"}, b"a\\n")
    {'statusCode': 200, 'headers': {'content-type': 'text/csv'}, 'body': 'a\\n', 'isBase64Encoded': False}
    """
    if not body or is_text(headers):
        try:
            return {"statusCode": status, "headers": headers, "body": body.decode("utf-8"), "isBase64Encoded": False}
        except UnicodeDecodeError:
            pass  # declared as text but is not UTF-8: base64 keeps the bytes exact
    encoded = base64.b64encode(body).decode("ascii")
    return {"statusCode": status, "headers": headers, "body": encoded, "isBase64Encoded": True}


def is_text(headers: dict[str, str]) -> bool:
    """Whether the body can travel as a JSON string: a text media type and no content encoding.

    Example: ``is_text({"content-type": "text/csv", "content-encoding": "gzip"})`` is ``False``.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    if lowered.get("content-encoding", "identity").strip().lower() != "identity":
        return False
    media_type = lowered.get("content-type", "").split(";", 1)[0].strip().lower()
    return media_type.startswith("text/") or media_type in _TEXT_MEDIA_TYPES or media_type.endswith(("+json", "+xml"))


def _too_large_detail(limit: int) -> str:
    return (
        f"The response is larger than the {limit // (1024 * 1024)} MB a buffered Lambda invocation can return. "
        "Use the streaming download URL, or narrow the request with filters, fields or limit."
    )
