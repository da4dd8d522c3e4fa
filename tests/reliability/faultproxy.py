"""A fault-injecting HTTP proxy on loopback, in front of the moto S3 server.

It forwards every request unchanged, except those a :class:`Rule` matches: those get an S3 error (500
InternalError, 503 SlowDown), a delay, or a response whose body is cut off mid-way (the connection dropped).
Each rule counts what it matched and what it did, so a test can assert the retries were bounded.
"""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, cast
from urllib.parse import urlsplit

Action = Literal["error", "drop", "delay"]
ERRORS = {
    500: ("InternalError", "We encountered an internal error. Please try again."),
    503: ("SlowDown", "Please reduce your request rate."),
}


@dataclass
class Rule:
    """Fault ``action`` for requests with ``method`` whose path contains ``path``: skip the first ``skip``
    matches, then fault the next ``times`` (None: all). ``status`` for errors; ``seconds`` for delays;
    ``keep`` is the fraction of the body sent before a drop.
    """

    method: str
    path: str
    action: Action
    status: int = 500
    skip: int = 0
    times: int | None = None
    seconds: float = 0.0
    keep: float = 0.5
    matched: int = 0
    injected: int = 0

    def applies(self, method: str, path: str) -> bool:
        """Count a match and say whether this one is faulted."""
        if method != self.method or self.path not in path:
            return False
        self.matched += 1
        index = self.matched - 1 - self.skip
        return index >= 0 and (self.times is None or index < self.times)


@dataclass
class FaultProxy:
    """The proxy: ``endpoint_url`` for boto3, ``rules`` to edit at any time."""

    upstream: str
    rules: list[Rule] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def endpoint_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FaultProxy:
        """Listen on 127.0.0.1 and a free port, serving in a daemon thread."""
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        cast(Any, self.server).proxy = self
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def fault(self, method: str, path: str) -> Rule | None:
        """The first rule that faults this request (counted on that rule)."""
        with self.lock:
            for rule in self.rules:
                if rule.applies(method, path):
                    rule.injected += 1
                    return rule
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def proxy(self) -> FaultProxy:
        return cast(FaultProxy, cast(Any, self.server).proxy)

    def log_message(self, format: str, *args: Any) -> None:  # the base class's name
        pass

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        rule = self.proxy.fault(self.command, self.path)
        if rule is not None and rule.action == "error":
            self._error(rule.status)
            return
        if rule is not None and rule.action == "delay":
            time.sleep(rule.seconds)
        status, headers, payload = self._forward(body)
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("transfer-encoding", "connection"):
                self.send_header(name, value)
        if not any(name.lower() == "content-length" for name, _ in headers):
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if rule is not None and rule.action == "drop":
            self.wfile.write(payload[: int(len(payload) * rule.keep)])
            self.wfile.flush()
            self.close_connection = True  # the rest of the promised body never comes
            return
        self.wfile.write(payload)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _any

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        upstream = urlsplit(self.proxy.upstream)
        connection = http.client.HTTPConnection(upstream.hostname or "127.0.0.1", upstream.port, timeout=30)
        try:
            headers = {name: value for name, value in self.headers.items() if name.lower() != "connection"}
            connection.request(self.command, self.path, body=body or None, headers=headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def _error(self, status: int) -> None:
        code, message = ERRORS.get(status, ("InternalError", "Injected failure."))
        document = (
            f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
        )
        payload = b"" if self.command == "HEAD" else document.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(document)))
        self.end_headers()
        self.wfile.write(payload)
