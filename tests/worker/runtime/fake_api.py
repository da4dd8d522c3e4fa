"""A fake Lambda Runtime API on 127.0.0.1, following AWS's "Using the Lambda runtime API for custom runtimes".

It serves queued events on ``GET /invocation/next`` with the documented headers (and holds the request open
when the queue is empty, as Lambda does), accepts responses (chunked streaming with trailers, or a plain body)
and the two error endpoints, and records every request for the tests to inspect.
"""

from __future__ import annotations

import itertools
import json
import queue
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO, cast

PREFIX = "/2018-06-01/runtime"


@dataclass(frozen=True)
class Event:
    """One queued invocation: the payload and the headers ``/next`` answers with."""

    request_id: str
    payload: bytes
    trace_id: str | None
    deadline_in_ms: int
    function_arn: str


@dataclass
class Record:
    """One request the runtime made to a result endpoint (``kind``: response, error or init-error)."""

    kind: str
    request_id: str
    headers: dict[str, str]
    body: bytes
    chunks: list[bytes] = field(default_factory=list)
    trailers: dict[str, str] = field(default_factory=dict)
    complete: bool = True


class FakeRuntimeApi:
    """The fake server: queue events with :meth:`add_event`, then :meth:`wait_for` the runtime's answers."""

    def __init__(self) -> None:
        self.events: queue.Queue[Event] = queue.Queue()
        self.records: list[Record] = []
        self.next_calls = 0
        self.stopped = threading.Event()
        self._changed = threading.Condition()
        self._ids = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        cast(Any, self._server).fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def address(self) -> str:
        """``host:port``, the value of ``AWS_LAMBDA_RUNTIME_API``."""
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self._server.shutdown()
        self._server.server_close()

    def add_event(
        self,
        payload: dict[str, Any] | bytes,
        trace_id: str | None = None,
        deadline_in_ms: int = 60_000,
        function_arn: str = "arn:aws:lambda:eu-west-2:123456789012:function:worker:live",
    ) -> str:
        """Queue an invocation; returns its request id."""
        request_id = f"req-{next(self._ids)}"
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.events.put(Event(request_id, body, trace_id, deadline_in_ms, function_arn))
        return request_id

    def record(self, record: Record) -> None:
        with self._changed:
            self.records.append(record)
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Record]:
        """Block until ``count`` records arrived (a guard against hangs, not a timing assertion)."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.records) >= count, timeout=timeout):
                raise AssertionError(f"expected {count} records, got {self.records!r}")
            return list(self.records)

    def take_event(self) -> Event | None:
        """The next event, waiting as long as it takes (``None`` once the server stops)."""
        while not self.stopped.is_set():
            try:
                return self.events.get(timeout=0.05)
            except queue.Empty:
                continue
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def fake(self) -> FakeRuntimeApi:
        return cast(FakeRuntimeApi, cast(Any, self.server).fake)

    def log_message(self, format: str, *args: Any) -> None:  # the base class's name
        pass

    def do_GET(self) -> None:
        if self.path != f"{PREFIX}/invocation/next":
            self._reply(404, b'{"errorType":"NotFound"}')
            return
        self.fake.next_calls += 1
        event = self.fake.take_event()
        if event is None:
            self.close_connection = True
            return
        headers = {
            "Lambda-Runtime-Aws-Request-Id": event.request_id,
            "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + event.deadline_in_ms),
            "Lambda-Runtime-Invoked-Function-Arn": event.function_arn,
        }
        if event.trace_id is not None:
            headers["Lambda-Runtime-Trace-Id"] = event.trace_id
        self._reply(200, event.payload, headers)

    def do_POST(self) -> None:
        parts = self.path.removeprefix(PREFIX).strip("/").split("/")
        headers = {name.lower(): value for name, value in self.headers.items()}
        if parts == ["init", "error"]:
            self.fake.record(Record("init-error", "", headers, self._read_plain()))
        elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            if headers.get("transfer-encoding", "").lower() == "chunked":
                record = _read_chunked(cast(BinaryIO, self.rfile), parts[1], headers)
            else:
                record = Record(parts[2], parts[1], headers, self._read_plain())
            if not record.complete:
                self.close_connection = True
                self.fake.record(record)
                return
            self.fake.record(record)
        else:
            self._reply(404, b'{"errorType":"NotFound"}')
            return
        self._reply(202, b'{"status":"OK"}')

    def _read_plain(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _read_chunked(stream: BinaryIO, request_id: str, headers: dict[str, str]) -> Record:
    """Decode an HTTP/1.1 chunked body with its trailers (RFC 9112 §7.1), keeping each chunk."""
    record = Record("response", request_id, headers, b"", complete=False)
    while True:
        size_line = stream.readline()
        if not size_line:
            record.body = b"".join(record.chunks)
            return record
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            break
        chunk = stream.read(size)
        stream.read(2)
        record.chunks.append(chunk)
    while (line := stream.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("ascii").partition(":")
        record.trailers[name.strip()] = value.strip()
    record.body = b"".join(record.chunks)
    record.complete = True
    return record
