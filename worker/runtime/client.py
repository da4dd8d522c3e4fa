"""The Lambda Runtime API transport: next invocation, a streamed response, invocation and init errors.

The wire format follows AWS "Using the Lambda runtime API for custom runtimes" and "Implementing response
streaming in a custom runtime" (cited in docs/runtime.md). Each call uses its own short-lived HTTP/1.1
connection to the local Runtime API: nothing is shared between invocations, so a stream cut half-way cannot
poison the next request. The streamed response frames its chunks by hand because ``http.client`` cannot send
trailers, and the error trailers are the only way to fail a stream whose status has already gone out.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from http.client import HTTPConnection

API_VERSION = "2018-06-01"
HTTP_INTEGRATION_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
PRELUDE_DELIMITER = b"\x00" * 8
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
ERROR_BODY_HEADER = "Lambda-Runtime-Function-Error-Body"
_UNSAFE_HEADER_CHARS = re.compile(r"[^\x21-\x7e]")


class RuntimeApiError(Exception):
    """The Runtime API answered a call with an unexpected status (the environment is likely being torn down)."""

    def __init__(self, call: str, status: int, body: bytes) -> None:
        super().__init__(f"{call}: Runtime API answered {status}: {body[:200]!r}")
        self.status = status


@dataclass(frozen=True)
class Invocation:
    """One event from ``GET /runtime/invocation/next`` with the headers the runtime needs."""

    request_id: str
    deadline_ms: int
    invoked_function_arn: str
    trace_id: str | None
    payload: bytes


@dataclass(frozen=True)
class ErrorReport:
    """The documented error document ``{errorMessage, errorType, stackTrace}`` and its error-type header."""

    error_type: str
    message: str
    stack_trace: tuple[str, ...] = ()

    def to_json(self) -> bytes:
        """Serialise as the Runtime API expects.

        >>> ErrorReport("Runtime.X", "boom").to_json()
        b'{"errorMessage":"boom","errorType":"Runtime.X","stackTrace":[]}'
        """
        document = {"errorMessage": self.message, "errorType": self.error_type, "stackTrace": list(self.stack_trace)}
        return json.dumps(document, ensure_ascii=True, separators=(",", ":")).encode("ascii")

    def header_type(self) -> str:
        """The error type made safe for an HTTP header or trailer (printable ASCII, no spaces)."""
        return _UNSAFE_HEADER_CHARS.sub("_", self.error_type)[:128] or "Unhandled"


def encode_prelude(status: int, headers: dict[str, str]) -> bytes:
    """The HTTP integration response prelude: JSON metadata, then the 8-NUL delimiter.

    >>> encode_prelude(200, {"content-type": "text/csv"})
    b'{"statusCode":200,"headers":{"content-type":"text/csv"},"cookies":[]}\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00'
    """
    # ensure_ascii escapes any NUL inside a header value, so the delimiter can only be the real one.
    document = {"statusCode": status, "headers": headers, "cookies": []}
    return json.dumps(document, ensure_ascii=True, separators=(",", ":")).encode("ascii") + PRELUDE_DELIMITER


class ResponseStream:
    """One ``POST /runtime/invocation/{id}/response`` in streaming mode, chunk-framed by hand.

    End it with :meth:`finish` (the zero-length chunk) or :meth:`fail` (the zero-length chunk plus the error
    trailers announced in the request's ``Trailer`` header).
    """

    def __init__(self, connection: HTTPConnection, call: str) -> None:
        self._connection = connection
        self._call = call
        self.bytes_sent = 0

    def write(self, data: bytes) -> None:
        """Send one chunk; an empty one is skipped (a zero-length chunk would end the stream)."""
        if data:
            self._connection.send(b"%X\r\n%b\r\n" % (len(data), data))
            self.bytes_sent += len(data)

    def finish(self) -> None:
        """End the stream successfully and wait for the Runtime API's answer."""
        self._connection.send(b"0\r\n\r\n")
        self._close()

    def fail(self, report: ErrorReport) -> None:
        """End the stream with the two error trailers, so every client sees the response as failed."""
        encoded = base64.b64encode(report.to_json())
        trailers = b"%s: %s\r\n%s: %s\r\n" % (
            ERROR_TYPE_HEADER.encode("ascii"),
            report.header_type().encode("ascii"),
            ERROR_BODY_HEADER.encode("ascii"),
            encoded,
        )
        self._connection.send(b"0\r\n" + trailers + b"\r\n")
        self._close()

    def abort(self) -> None:
        """Drop the connection without ending the stream (the transport itself failed)."""
        self._connection.close()

    def _close(self) -> None:
        try:
            _read_reply(self._connection, self._call)
        finally:
            self._connection.close()


class RuntimeClient:
    """The four Runtime API calls, against ``AWS_LAMBDA_RUNTIME_API`` (``host:port``)."""

    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"AWS_LAMBDA_RUNTIME_API must be host:port, got {address!r}")
        self._host = host
        self._port = int(port)
        self._base = f"/{API_VERSION}/runtime"

    def next_invocation(self) -> Invocation:
        """Block until Lambda hands over the next event (no timeout: the environment may be frozen meanwhile)."""
        connection = self._connect()
        try:
            connection.request("GET", f"{self._base}/invocation/next")
            reply = connection.getresponse()
            payload = reply.read()
            if reply.status != 200:  # the documented success status
                raise RuntimeApiError("next", reply.status, payload)
            return Invocation(
                request_id=reply.headers.get("Lambda-Runtime-Aws-Request-Id", ""),
                deadline_ms=int(reply.headers.get("Lambda-Runtime-Deadline-Ms", "0") or 0),
                invoked_function_arn=reply.headers.get("Lambda-Runtime-Invoked-Function-Arn", ""),
                trace_id=reply.headers.get("Lambda-Runtime-Trace-Id") or None,
                payload=payload,
            )
        finally:
            connection.close()

    def open_stream(self, request_id: str) -> ResponseStream:
        """Start the streamed response of one invocation: headers only, the body follows chunk by chunk."""
        connection = self._connect()
        connection.putrequest("POST", f"{self._base}/invocation/{request_id}/response", skip_accept_encoding=True)
        connection.putheader("Lambda-Runtime-Function-Response-Mode", "streaming")
        connection.putheader("Transfer-Encoding", "chunked")
        connection.putheader("Trailer", f"{ERROR_TYPE_HEADER}, {ERROR_BODY_HEADER}")
        connection.putheader("Content-Type", HTTP_INTEGRATION_CONTENT_TYPE)
        connection.endheaders()
        return ResponseStream(connection, "response")

    def post_invocation_error(self, request_id: str, report: ErrorReport) -> None:
        """Report an invocation that produced no response at all."""
        self._post(f"{self._base}/invocation/{request_id}/error", report, "invocation error")

    def post_init_error(self, report: ErrorReport) -> None:
        """Report a failed initialisation; the runtime must exit afterwards."""
        self._post(f"{self._base}/init/error", report, "init error")

    def _post(self, path: str, report: ErrorReport, call: str) -> None:
        connection = self._connect()
        try:
            headers = {ERROR_TYPE_HEADER: report.header_type(), "Content-Type": "application/json"}
            connection.request("POST", path, body=report.to_json(), headers=headers)
            _read_reply(connection, call)
        finally:
            connection.close()

    def _connect(self) -> HTTPConnection:
        return HTTPConnection(self._host, self._port, timeout=None)


def _read_reply(connection: HTTPConnection, call: str) -> None:
    reply = connection.getresponse()
    body = reply.read()
    if not 200 <= reply.status < 300:  # 202 Accepted is documented; any 2xx is success
        raise RuntimeApiError(call, reply.status, body)
