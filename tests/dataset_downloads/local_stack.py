"""Fixtures for the local stack tests: sample data, a fake worker on the real edge, a server on a random port.

Imported by the test modules that use them (``tests/dataset_downloads/conftest.py`` belongs to another suite).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dataset_downloads.cache import ResponseCache
from dataset_downloads.cli import main
from dataset_downloads.distribution import WorkerFunction
from dataset_downloads.sample import SAMPLES, scaled, write_samples
from dataset_downloads.server import start_server
from worker.response import Response

OK_BODY = (b"entity,name\n", b'1,"a, b"\n', b"2,c\n")


class Clock:
    """A settable clock for the cache, so expiry is tested without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeWorker:
    """Stands in for worker.app.App.handle: the dataset name in the path picks the behaviour."""

    events: list[dict[str, Any]] = field(default_factory=list)
    closed: threading.Event = field(default_factory=threading.Event)

    def __call__(self, event: dict[str, Any], context: object = None) -> Response:
        self.events.append(event)
        name = str(event["rawPath"]).lstrip("/").partition(".")[0]
        if name == "explode":
            raise RuntimeError("the worker crashed before answering")
        cache = {"no-store": "no-store", "zero-age": "public, max-age=0"}.get(name, "public, max-age=300")
        headers = {"content-type": "text/csv; charset=utf-8", "cache-control": cache, "etag": f'"{name}-v1"'}
        if event["requestContext"]["http"]["method"] == "HEAD":
            return Response(200, headers)
        bodies = {"fail": self._fail(), "endless": self._endless(), "big": iter([b"x" * 4096] * 100)}
        return Response(200, headers, bodies.get(name, iter(OK_BODY)))

    def _fail(self) -> Iterator[bytes]:
        yield b"entity,name\n"
        yield b"1,a\n"
        raise OSError("the source went away mid-stream")

    def _endless(self) -> Iterator[bytes]:
        try:
            while True:
                yield b"y" * 65536
        finally:
            self.closed.set()


@dataclass
class Stack:
    """A running local server with a fake worker, and the handles tests inspect."""

    base_url: str
    host: str
    port: int
    worker: FakeWorker
    cache: ResponseCache
    clock: Clock


@pytest.fixture(scope="session")
def cli_samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full-size sample datasets, written once through the CLI."""
    directory = tmp_path_factory.mktemp("cli-samples")
    assert main(["sample-data", str(directory)]) == 0
    return directory


@pytest.fixture(scope="session")
def small_samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A twentieth of the samples: enough for the server's /source/ tests."""
    directory = tmp_path_factory.mktemp("small-samples")
    write_samples(directory, scaled(SAMPLES, 0.05))
    return directory


@pytest.fixture
def stack(small_samples: Path) -> Iterator[Stack]:
    """The real edge, a fake worker, a cache with a settable clock, on 127.0.0.1 and a random port."""
    worker = FakeWorker()
    clock = Clock()
    cache = ResponseCache(max_bytes=1 << 20, max_entry_bytes=64 << 10, clock=clock)
    fake: WorkerFunction = worker
    base_url, stop = start_server(str(small_samples), worker=fake, cache=cache)
    host, _, port = base_url.removeprefix("http://").partition(":")
    try:
        yield Stack(base_url, host, int(port), worker, cache, clock)
    finally:
        stop()
