"""Client faults through the real local server over moto S3: a client that disconnects mid-stream stops the
worker's S3 reads within a bound, and the server keeps serving others.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dataset_downloads.sample import SAMPLES, scaled, write_samples
from dataset_downloads.server import start_server
from tests.reliability.checks import request_logs
from tests.support.s3 import MotoS3, s3_client
from worker.app import App
from worker.config import WorkerSettings
from worker.s3source import CLIENT_CONFIG, S3Source
from worker.tracing import NullTracer

BIG = "title-boundary"
KEY = f"datasets/{BIG}.parquet"


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """title-boundary at a fifth of its size (60,000 rows, 15 row groups): more than socket buffers hold."""
    folder = tmp_path_factory.mktemp("big")
    write_samples(folder, scaled([s for s in SAMPLES if s.dataset == BIG], 0.2))
    return folder / f"{BIG}.parquet"


@pytest.fixture
def stack(moto_s3: MotoS3, big: Path) -> Iterator[tuple[str, str]]:
    bucket = moto_s3.create_bucket()
    moto_s3.client.upload_file(str(big), bucket, KEY)
    source = S3Source(bucket, "datasets/", s3_client(moto_s3.endpoint_url, config=CLIENT_CONFIG))
    app = App(WorkerSettings(source=f"s3://{bucket}/datasets/"), source, NullTracer())
    base_url, stop = start_server(f"s3://{bucket}/datasets/", worker=app.handle)
    yield base_url, bucket
    stop()


def _connect(base_url: str) -> socket.socket:
    host, _, port = base_url.removeprefix("http://").partition(":")
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # keep the kernel from absorbing the download
    client.connect((host, int(port)))
    return client


def _settled(moto_s3: MotoS3, bucket: str) -> int:
    """The bytes S3 sent for the object once they stop growing (a guard of a few seconds, not a timed assertion)."""
    last = -1
    for _ in range(100):
        now = moto_s3.traffic(bucket, KEY).body_bytes
        if now == last:
            return now
        last = now
        time.sleep(0.1)
    raise AssertionError("the worker kept reading S3 after the client left")


def test_a_client_that_disconnects_stops_the_s3_reads(
    stack: tuple[str, str], moto_s3: MotoS3, big: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    base_url, bucket = stack
    client = _connect(base_url)
    client.sendall(f"GET /{BIG}.json HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += client.recv(4096)
    assert head.startswith(b"HTTP/1.1 200")
    client.close()  # mid-stream: the body has barely started
    read = _settled(moto_s3, bucket)
    metadata = pq.ParquetFile(big).metadata
    groups = sorted(
        sum(group.column(c).total_compressed_size for c in range(group.num_columns))
        for group in map(metadata.row_group, range(metadata.num_row_groups))
    )
    size = big.stat().st_size
    # What was read before the first byte (footer, first row group) plus what the server's socket buffers let
    # through before the write failed: a few row groups at most, never the whole object.
    assert read < size / 2, (read, size)
    assert read <= metadata.serialized_size + 8 + sum(groups[-6:]), (read, groups)
    # The server keeps serving.
    again = _connect(base_url)
    again.sendall(f"GET /{BIG}.csv?limit=3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    reply = b""
    while chunk := again.recv(65536):
        reply += chunk
    again.close()
    assert reply.startswith(b"HTTP/1.1 200")
    assert reply.endswith(b"0\r\n\r\n")
    logged = request_logs(capfd.readouterr().err)
    assert logged[0]["error_code"] == "stream-aborted"
    assert logged[0]["rows"] < 60_000
    assert logged[-1]["status"] == 200
    assert "error_code" not in logged[-1]


class _Tracked:
    """A body that records whether it was closed."""

    def __init__(self) -> None:
        self.closed = False
        self._chunks = iter([b"a", b"b"])

    def __iter__(self) -> _Tracked:
        return self

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("started", [False, True], ids=["before-first-chunk", "mid-stream"])
def test_closing_the_cache_passthrough_closes_the_worker_body(started: bool) -> None:
    """The bug this suite found: the cache's pass-through did not close the worker's body on disconnect, so the
    worker's request was never logged and its source reader lived until garbage collection."""
    from dataset_downloads.cache import ResponseCache

    body = _Tracked()
    passthrough = ResponseCache().collect("k", 200, [("Cache-Control", "max-age=60")], body)
    if started:
        next(passthrough)
    getattr(passthrough, "close")()  # noqa: B009  # Iterator has no close in its type; the transport calls it
    assert body.closed
