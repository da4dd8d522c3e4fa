"""The runtime loop: next event → handler → streamed HTTP integration response, then the next event.

Two phases, as everywhere in the worker. Until the first body chunk exists nothing is sent, so a failure (the
handler raised, or the body raised before its first chunk) still becomes a proper problem+json response. Once
the prelude is out the status cannot change: a failure ends the stream with Lambda's error trailers, which every
client sees as a failed download. Either way the loop goes on to the next invocation.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from worker.memory import keep_bytes, release_freed_memory
from worker.response import Response, close_iterator
from worker.runtime.client import ResponseStream, RuntimeApiError, RuntimeClient, encode_prelude
from worker.runtime.context import InvocationContext
from worker.runtime.failure import DeadlineApproaching, error_report, log_failure, problem_response

Handler = Callable[[dict[str, Any], InvocationContext], Response]

TRACE_ID_VARIABLE = "_X_AMZN_TRACE_ID"
DEFAULT_DEADLINE_MARGIN_MS = 1500


def run(client: RuntimeClient, handler: Handler, margin_ms: int, invocations: int | None = None) -> None:
    """Serve invocations (forever by default). Only a Runtime API failure escapes: the process should exit.

    After each, what the download freed goes back to the system if the process holds more than half the
    function's memory (worker/memory.py), so a warm environment never drifts towards its limit.
    """
    keep = keep_bytes(os.environ)
    served = 0
    while invocations is None or served < invocations:
        serve_one(client, handler, margin_ms)
        release_freed_memory(keep)
        served += 1


def serve_one(client: RuntimeClient, handler: Handler, margin_ms: int) -> None:
    """Fetch one invocation and answer it; a failure of this invocation is logged and never escapes."""
    invocation = client.next_invocation()
    set_trace_id(invocation.trace_id)
    context = InvocationContext.from_invocation(invocation)
    try:
        event = json.loads(invocation.payload)
    except ValueError as error:
        # Not an HTTP request at all, so there is no response to shape: report it as a failed invocation.
        log_failure("event", invocation.request_id, error)
        client.post_invocation_error(invocation.request_id, error_report(error))
        return
    try:
        _respond(client, handler, request_id=invocation.request_id, event=event, context=context, margin_ms=margin_ms)
    except (OSError, RuntimeApiError) as error:
        # The stream itself broke (Lambda cut it, e.g. past the response size limit): nothing more can be sent.
        log_failure("transport", invocation.request_id, error)


def set_trace_id(trace_id: str | None) -> None:
    """Expose this invocation's X-Ray trace header as Lambda's runtimes do, and never leak the previous one."""
    if trace_id:
        os.environ[TRACE_ID_VARIABLE] = trace_id
    else:
        os.environ.pop(TRACE_ID_VARIABLE, None)


def _respond(
    client: RuntimeClient,
    handler: Handler,
    *,
    request_id: str,
    event: dict[str, Any],
    context: InvocationContext,
    margin_ms: int,
) -> None:
    prelude, first, rest = _start(request_id, handler, event, context, margin_ms)
    stream = client.open_stream(request_id)
    try:
        stream.write(prelude)
        stream.write(first)
        failure = _pump(stream, rest)
    except BaseException:
        stream.abort()
        raise
    finally:
        _close(rest)
    if failure is None:
        stream.finish()
    else:
        log_failure("after-first-byte", request_id, failure)
        stream.fail(error_report(failure))


def _start(
    request_id: str, handler: Handler, event: dict[str, Any], context: InvocationContext, margin_ms: int
) -> tuple[bytes, bytes, Iterator[bytes]]:
    """Run the handler up to its first body chunk: (prelude, first chunk, the remaining chunks)."""
    chunks: Iterator[bytes] = iter(())
    try:
        response = handler(event, context)
        chunks = until_deadline(response.body, context, margin_ms)
        first = next(chunks, b"")
        return encode_prelude(response.status, response.headers), first, chunks
    except Exception as error:
        _close(chunks)
        log_failure("before-first-byte", request_id, error)
        problem = problem_response(error)
        return encode_prelude(problem.status, problem.headers), b"".join(problem.body), iter(())


def until_deadline(body: Iterable[bytes], context: InvocationContext, margin_ms: int) -> Iterator[bytes]:
    """Yield ``body``'s chunks while more than ``margin_ms`` remain; then close ``body`` and raise.

    Raises :class:`DeadlineApproaching` so a timeout is reported as a failure instead of a truncated 200.
    A context without a deadline (``deadline_ms == 0``) is never stopped.
    """
    chunks = iter(body)
    try:
        while True:
            remaining = context.get_remaining_time_in_millis()
            if context.deadline_ms and remaining < margin_ms:
                raise DeadlineApproaching(f"Stopped streaming with {remaining} ms left (margin {margin_ms} ms).")
            try:
                chunk = next(chunks)
            except StopIteration:
                return
            yield chunk
    finally:
        _close(chunks)


def _pump(stream: ResponseStream, chunks: Iterator[bytes]) -> Exception | None:
    """Send every remaining chunk; return the body's exception instead of raising it (transport errors raise)."""
    while True:
        try:
            chunk = next(chunks)
        except StopIteration:
            return None
        except Exception as error:
            return error
        stream.write(chunk)


def _close(chunks: Iterator[bytes]) -> None:
    # A body that fails while being closed has already failed or finished; there is nothing left to report.
    with contextlib.suppress(Exception):
        close_iterator(chunks)
