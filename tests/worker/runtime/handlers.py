"""Handlers the real runtime process runs in the tests (``python -m worker.runtime tests.worker.runtime.handlers:…``).

``dispatch`` picks one by the event's ``case`` so a single process can serve several kinds in a row.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from worker.errors import DatasetNotFound, SourceBusy, SourceChanged
from worker.response import Response
from worker.runtime.context import InvocationContext

SECRET = "secret-path-/etc/shadow"
CSV = {"content-type": "text/csv; charset=utf-8"}


def ok(event: dict[str, Any], context: InvocationContext) -> Response:
    """Three chunks; the empty one in the middle must not end the chunked stream."""
    return Response(200, dict(CSV), iter([b"a,b\n", b"", b"1,2\n"]))


def raising_before(event: dict[str, Any], context: InvocationContext) -> Response:
    raise RuntimeError(SECRET)


def raising_in_first_chunk(event: dict[str, Any], context: InvocationContext) -> Response:
    def body() -> Iterator[bytes]:
        raise KeyError(SECRET)
        yield b"never"

    return Response(200, dict(CSV), body())


def worker_error_before(event: dict[str, Any], context: InvocationContext) -> Response:
    raise SourceBusy("The source throttled the request.")


def worker_error_in_first_chunk(event: dict[str, Any], context: InvocationContext) -> Response:
    def body() -> Iterator[bytes]:
        raise DatasetNotFound('No dataset "x".')
        yield b"never"

    return Response(200, dict(CSV), body())


def raising_after_first_chunk(event: dict[str, Any], context: InvocationContext) -> Response:
    def body() -> Iterator[bytes]:
        yield b"a,b\n"
        raise ValueError(SECRET)

    return Response(200, dict(CSV), body())


def worker_error_after_first_chunk(event: dict[str, Any], context: InvocationContext) -> Response:
    def body() -> Iterator[bytes]:
        yield b"a,b\n"
        raise SourceChanged("The source object changed during the download.")

    return Response(200, dict(CSV), body())


def bad_headers(event: dict[str, Any], context: InvocationContext) -> Response:
    """Headers that cannot be serialised into the prelude: still a 500 problem, and the loop survives."""
    return Response(200, {"x-bad": object()}, iter([b"x"]))  # type: ignore[dict-item]


def echo(event: dict[str, Any], context: InvocationContext) -> Response:
    """The invocation as the handler sees it: trace variable, context fields, the event."""
    seen = {
        "trace": os.environ.get("_X_AMZN_TRACE_ID"),
        "request_id": context.aws_request_id,
        "arn": context.invoked_function_arn,
        "remaining_positive": context.get_remaining_time_in_millis() > 0,
        "event": event,
    }
    return Response(200, {"content-type": "application/json"}, [json.dumps(seen).encode()])


def slow(event: dict[str, Any], context: InvocationContext) -> Response:
    """An endless body, one small chunk every 20 ms: only the deadline margin stops it."""

    def body() -> Iterator[bytes]:
        try:
            while True:
                time.sleep(0.02)
                yield b"row\n"
        finally:
            sys.stderr.write("slow: body closed\n")
            sys.stderr.flush()

    return Response(200, dict(CSV), body())


CASES: dict[str, Callable[[dict[str, Any], InvocationContext], Response]] = {
    name: handler
    for name, handler in globals().items()
    if callable(handler) and getattr(handler, "__module__", "") == __name__ and name != "dispatch"
}


def dispatch(event: dict[str, Any], context: InvocationContext) -> Response:
    """Run the handler named by ``event["case"]``."""
    return CASES[event["case"]](event, context)
