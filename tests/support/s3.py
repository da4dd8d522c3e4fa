"""A moto S3 server on loopback that counts, per object key, the requests it answers and the body bytes it sends.

Start it once per session (``moto_server``) and take a fresh view per test (``moto_s3``): dummy credentials and
``AWS_ENDPOINT_URL`` are set for that test only, buckets get unique names, and the traffic counters start at
zero. To use the fixtures in a test directory, import them into its conftest.py::

    from tests.support.s3 import moto_s3, moto_server  # noqa: F401
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class Traffic:
    """What the server answered for one object key: request count and response body bytes."""

    requests: int = 0
    body_bytes: int = 0


@dataclass
class TrafficCounter:
    """WSGI middleware counting requests and response body bytes by path-style ``bucket/key``."""

    app: WsgiApp
    _traffic: dict[str, Traffic] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", "")).lstrip("/")
        with self._lock:
            self._traffic.setdefault(path, Traffic()).requests += 1
        return self._count(path, self.app(environ, start_response))

    def _count(self, path: str, body: Iterable[bytes]) -> Iterator[bytes]:
        try:
            for chunk in body:
                with self._lock:
                    self._traffic[path].body_bytes += len(chunk)
                yield chunk
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    def get(self, bucket: str, key: str) -> Traffic:
        """A snapshot of the traffic for ``s3://bucket/key`` since the last reset."""
        with self._lock:
            seen = self._traffic.get(f"{bucket}/{key}", Traffic())
            return Traffic(seen.requests, seen.body_bytes)

    def reset(self) -> None:
        """Forget all counts."""
        with self._lock:
            self._traffic.clear()


class _QuietHandler(MotoRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Keep test output clean: no access log line per request."""


class LoopbackServer:
    """A WSGI app served by werkzeug on 127.0.0.1 and a free port, in a background thread once started."""

    def __init__(self, app: WsgiApp, *, name: str, request_handler: type[WSGIRequestHandler] | None = None) -> None:
        self._server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True, request_handler=request_handler)
        self.endpoint_url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name=name, daemon=True)

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class MotoServer(LoopbackServer):
    """moto's S3 backend behind :class:`TrafficCounter`, served by werkzeug on 127.0.0.1 and a free port."""

    def __init__(self) -> None:
        self.counter = TrafficCounter(DomainDispatcherApplication(create_backend_app))
        super().__init__(self.counter, name="moto-s3", request_handler=_QuietHandler)


@dataclass
class MotoS3:
    """One test's view of the server: its endpoint, a client, bucket creation and the traffic counters."""

    endpoint_url: str
    client: S3Client
    counter: TrafficCounter

    def create_bucket(self, *, versioned: bool = False) -> str:
        """Create a bucket with a unique name (versioning enabled if asked) and return its name."""
        name = f"test-{uuid.uuid4().hex[:16]}"
        self.client.create_bucket(Bucket=name)
        if versioned:
            self.client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name

    def traffic(self, bucket: str, key: str) -> Traffic:
        """Requests and body bytes the server answered for ``s3://bucket/key`` since the test started."""
        return self.counter.get(bucket, key)


def s3_client(endpoint_url: str, *, config: Config | None = None) -> S3Client:
    """A boto3 S3 client for a loopback endpoint, with the dummy credentials passed explicitly."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        config=config,
        region_name=REGION,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=CREDENTIALS["AWS_SESSION_TOKEN"],
    )


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """One moto S3 server for the whole session (starting moto's backends is the slow part)."""
    server = MotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def moto_s3(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> MotoS3:
    """The moto server for one test, with dummy AWS credentials, region and endpoint in the environment."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint_url)
    # Never read a developer's real AWS configuration or profile.
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    empty = tmp_path_factory.mktemp("aws") / "none"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    moto_server.counter.reset()
    return MotoS3(moto_server.endpoint_url, s3_client(moto_server.endpoint_url), moto_server.counter)
