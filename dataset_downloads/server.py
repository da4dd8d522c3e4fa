"""The local HTTP/1.1 server: one :class:`~dataset_downloads.distribution.Distribution` behind a socket.

Each request becomes a viewer request; the reply is sent with ``Content-Length`` when its size is known and
chunked otherwise. A body that fails after the headers went out ends the connection without the final
zero-length chunk, so every client sees a failed transfer (DESIGN §1); a client that goes away has its body
iterator closed at once. One JSON access-log line per request goes to the ``dataset_downloads.access`` logger.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from dataset_downloads.cache import ResponseCache
from dataset_downloads.distribution import (
    Distribution,
    EdgeFunction,
    Reply,
    WorkerFunction,
    problem_reply,
)
from dataset_downloads.events import ViewerRequest
from dataset_downloads.stack import real_edge, real_worker
from dataset_downloads.static import store_for
from worker.response import close_iterator

access_log = logging.getLogger("dataset_downloads.access")
log = logging.getLogger("dataset_downloads.server")

# Hop-by-hop headers belong to one connection; x-amz-cf-id is this request's own id (stamped on every reply).
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "x-amz-cf-id"})
_NO_BODY = frozenset({204, 304})
_MAX_REQUEST_BODY = 64 << 10
_CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


class DistributionServer(ThreadingHTTPServer):
    """A threading HTTP server that owns the distribution its handlers answer from."""

    daemon_threads = True
    block_on_close = False

    distribution: Distribution

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, Handler)


class Handler(BaseHTTPRequestHandler):
    """Turns each HTTP request into a viewer request and sends the distribution's reply."""

    protocol_version = "HTTP/1.1"
    server_version = "dataset-downloads"
    timeout = 60  # idle keep-alive connections are closed after this many seconds
    server: DistributionServer

    def do_GET(self) -> None:
        """Answer GET."""
        self._serve()

    def __getattr__(self, name: str) -> Callable[[], None]:
        """Every other method (TRACE, PROPFIND, ...) goes to the edge too, which answers 405 problem+json with
        ``Allow``, as CloudFront would; http.server alone would send an HTML 501."""
        if name.startswith("do_"):
            return self.do_GET
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (unparsable request lines) with the standard reason phrase only: its default
        message quotes the raw request line, non-ASCII bytes and all, into the status line and the page."""
        log.debug("refused a request before parsing it: %s %s", code, message)
        super().send_error(code, None, None)

    def log_message(self, format: str, *args: object) -> None:
        """Route http.server's own messages (bad request lines, timeouts) to the module logger."""
        log.debug(format, *args)

    def _serve(self) -> None:
        started = time.perf_counter()
        self._discard_request_body()
        viewer = self._viewer_request()
        try:
            reply = self.server.distribution.respond(viewer)
        except Exception:
            log.exception("the distribution failed")
            reply = problem_reply(500, "internal-error", "Internal error", "The local distribution failed.")
        sent, outcome = self._send(reply, viewer)
        record = {
            "time": round(time.time(), 3),
            "request_id": viewer.request_id,
            "client": viewer.client_ip,
            "method": viewer.method,
            "path": self.path,
            "status": reply.status,
            "bytes": sent,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            "cache": reply.cache.split(" ")[0],
            "outcome": outcome,
        }
        access_log.info(json.dumps({**record, **reply.notes}, ensure_ascii=True))

    def _viewer_request(self) -> ViewerRequest:
        target = self.path
        if "://" in target.partition("?")[0]:  # absolute-form request target
            target = "/" + target.partition("://")[2].partition("/")[2]
        uri, _, query = target.partition("?")
        request_id = base64.urlsafe_b64encode(os.urandom(42)).decode("ascii")
        headers = tuple((name, value) for name, value in self.headers.items())
        return ViewerRequest(self.command, uri, query, headers, self.client_address[0], request_id)

    def _discard_request_body(self) -> None:
        """Read and drop a request body so the connection stays usable; close it when that is not possible."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit() or int(length) > _MAX_REQUEST_BODY:
            self.close_connection = True
            return
        if int(length):
            self.rfile.read(int(length))

    def _send(self, reply: Reply, viewer: ViewerRequest) -> tuple[int, str]:
        """Send ``reply``; return the body bytes sent and how it ended (complete, failed, client-closed)."""
        body = iter(reply.body)
        try:
            return self._transfer(reply, body, viewer)
        finally:
            close_iterator(body)

    def _transfer(self, reply: Reply, body: Iterator[bytes], viewer: ViewerRequest) -> tuple[int, str]:
        has_body = viewer.method != "HEAD" and reply.status not in _NO_BODY and reply.status >= 200
        headers = [(n, v) for n, v in reply.headers if n.lower() not in _HOP_BY_HOP]
        known_length = any(n.lower() == "content-length" for n, _ in headers)
        chunked = has_body and not known_length and self.request_version == "HTTP/1.1"
        if has_body and not known_length and not chunked:
            self.close_connection = True  # HTTP/1.0: the end of the body is the end of the connection
        try:
            self.send_response(reply.status)
            for name, value in [*headers, ("X-Cache", reply.cache), ("X-Amz-Cf-Id", viewer.request_id)]:
                self.send_header(name, value)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            if self.close_connection:  # decided before the headers: tell a keep-alive client (RFC 9112 §9.6)
                self.send_header("Connection", "close")
            self.end_headers()
        except _CLIENT_GONE:
            self.close_connection = True
            return 0, "client-closed"
        return self._write_body(body, chunked) if has_body else (0, "complete")

    def _write_body(self, body: Iterator[bytes], chunked: bool) -> tuple[int, str]:
        sent = 0
        try:
            for chunk in body:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                    sent += len(chunk)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except _CLIENT_GONE:
            self.close_connection = True
            return sent, "client-closed"
        except Exception:
            # The status line is gone: the only honest signal left is an incomplete message (no final chunk).
            log.exception("the response body failed after %d bytes; closing the connection", sent)
            self.close_connection = True
            return sent, "failed"
        return sent, "complete"


def start_server(
    data: str,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    edge: EdgeFunction | None = None,
    worker: WorkerFunction | None = None,
    cache: ResponseCache | None = None,
    results: str | None = None,
) -> tuple[str, Callable[[], None]]:
    """Serve ``data`` (a folder or ``s3://bucket/prefix/``) in a daemon thread; return ``(base_url, stop)``.

    ``results`` (a folder or ``s3://bucket/prefix/``) is the results store: served at ``/results/``, and where
    the real worker stores large results. Without it every result is streamed.

    Binds first, so with ``port=0`` the edge is configured with the real port. ``edge`` and ``worker`` default
    to the real ones (:func:`dataset_downloads.stack.real_edge`, :func:`~dataset_downloads.stack.real_worker`);
    tests pass fakes.
    """
    server = DistributionServer((host, port))
    domain = f"{host}:{server.server_address[1]}"
    release: Callable[[], None] = _nothing
    try:
        if worker is None:
            worker, release = real_worker(data, results)
        server.distribution = Distribution(
            edge if edge is not None else real_edge(domain),
            worker,
            store_for(data),
            cache if cache is not None else ResponseCache(),
            origin_domain=domain,
            results=store_for(results) if results else None,
        )
    except BaseException:
        server.server_close()
        release()
        raise
    # A short poll interval makes stop() quick (shutdown waits for the loop's next poll).
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="dataset-downloads-server", daemon=True
    )
    thread.start()
    stopped = threading.Event()

    def stop() -> None:
        if stopped.is_set():
            return
        stopped.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        release()

    return f"http://{domain}", stop


def _nothing() -> None:
    """Nothing to release (a worker the caller passed in is the caller's to clean up)."""
