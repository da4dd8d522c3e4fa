"""Size-aware delivery through the worker: large results are stored once and redirected to, small ones stream.

Thresholds are tiny so the small test dataset counts as large. Scans are counted by wrapping the worker's
``execute``; every test runs against a local results folder and a moto S3 bucket.
"""

from __future__ import annotations

import gzip
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.support.faults import BreakingSource
from tests.support.s3 import MotoS3
from worker.app import App
from worker.config import WorkerSettings
from worker.delivery import Delivery
from worker.response import Response
from worker.results import LocalResultStore, ResultMeta, ResultStore, StoreError
from worker.s3results import S3ResultStore
from worker.scan import execute
from worker.source import LocalSource
from worker.tracing import NullTracer

FILTERED = "organisation-entity=600003,600004"


def event(path: str, query: str = "", encoding: str = "gzip", method: str = "GET") -> dict[str, Any]:
    """A Function URL event (payload 2.0)."""
    return {
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"accept-encoding": encoding},
        "requestContext": {"http": {"method": method}},
    }


def body(response: Response) -> bytes:
    return b"".join(response.body)


@dataclass
class Bench:
    """A data folder, a results store, and counters of scans and of lease attempts."""

    data: Path
    store: ResultStore
    listing: Any
    scans: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self, threshold: int = 1_000, source: LocalSource | None = None, store: bool = True) -> App:
        settings = WorkerSettings(source=str(self.data), results_threshold=threshold, results_wait_seconds=30)
        return App(settings, source=source, tracer=NullTracer(), results=self.store if store else None)


@pytest.fixture(params=["local", "s3"])
def bench(request: pytest.FixtureRequest, data_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Bench:
    """A bench whose results store is a local folder or a moto S3 bucket; ``worker.app.execute`` counted."""
    if request.param == "local":
        folder = tmp_path / "results"
        store: ResultStore = LocalResultStore(folder)

        def listing() -> list[str]:
            return sorted(p.name for p in folder.iterdir()) if folder.exists() else []
    else:
        moto: MotoS3 = request.getfixturevalue("moto_s3")
        bucket = moto.create_bucket()
        store = S3ResultStore(bucket, "results/", moto.client)

        def listing() -> list[str]:
            objects = moto.client.list_objects_v2(Bucket=bucket).get("Contents", [])
            uploads = moto.client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
            return sorted([str(o["Key"]).removeprefix("results/") for o in objects] + [str(u) for u in uploads])

    bench = Bench(data_folder, store, listing)

    def counted(*args: Any, **kwargs: Any) -> Iterator[Any]:
        with bench.lock:
            bench.scans += 1
        return execute(*args, **kwargs)

    monkeypatch.setattr("worker.app.execute", counted)
    return bench


def fetch_stored(bench: Bench, location: str) -> bytes:
    name = location.removeprefix("/results/")
    if isinstance(bench.store, LocalResultStore):
        return (bench.store.folder / name).read_bytes()
    assert isinstance(bench.store, S3ResultStore)
    return bytes(bench.store.client.get_object(Bucket=bench.store.bucket, Key=f"results/{name}")["Body"].read())


@pytest.mark.parametrize(
    ("path", "query", "encoding"),
    [
        pytest.param("/sorted.csv", FILTERED, "gzip", id="csv-gzip"),
        pytest.param("/sorted.ndjson", FILTERED, "identity", id="ndjson-identity"),
        pytest.param("/sorted.parquet", "fields=entity,name", "gzip", id="parquet"),
    ],
)
def test_large_result_redirects_to_the_same_bytes_as_streamed(
    bench: Bench, path: str, query: str, encoding: str
) -> None:
    streamed = bench.app(store=False).handle(event(path, query, encoding))
    assert streamed.status == 200
    expected = body(streamed)
    response = bench.app().handle(event(path, query, encoding))
    assert response.status == 302
    assert body(response) == b""
    location = response.headers["location"]
    assert location.startswith("/results/")
    assert location.endswith(".gz") == (encoding == "gzip" and not path.endswith(".parquet"))
    assert response.headers["cache-control"] == streamed.headers["cache-control"]
    assert response.headers["vary"] == "Accept-Encoding"
    assert fetch_stored(bench, location) == expected


def test_repeat_request_redirects_without_scanning_again(bench: Bench) -> None:
    app = bench.app()
    first = app.handle(event("/sorted.csv", FILTERED))
    assert (first.status, bench.scans) == (302, 1)
    again = bench.app().handle(event("/sorted.csv", FILTERED))  # a fresh process: the store is the memory
    assert (again.status, bench.scans) == (302, 1)
    assert again.headers["location"] == first.headers["location"]
    head = app.handle(event("/sorted.csv", FILTERED, method="HEAD"))
    assert (head.status, head.headers["location"]) == (302, first.headers["location"])


def test_a_head_gets_the_redirect_a_get_would_get(bench: Bench) -> None:
    head = bench.app().handle(event("/sorted.csv", FILTERED, method="HEAD"))
    assert (head.status, bench.scans) == (302, 1)  # stored first, so the Location is valid
    get = bench.app().handle(event("/sorted.csv", FILTERED))
    assert (get.status, bench.scans) == (302, 1)
    assert get.headers["location"] == head.headers["location"]
    assert fetch_stored(bench, head.headers["location"])


def test_republished_source_gives_a_new_result(bench: Bench) -> None:
    app = bench.app()
    first = app.handle(event("/sorted.csv", FILTERED))
    table = pq.read_table(bench.data / "sorted.parquet")
    replacement = bench.data / "replacement.parquet"
    pq.write_table(table.slice(0, 15_000), replacement, row_group_size=1_000)
    os.replace(replacement, bench.data / "sorted.parquet")
    second = app.handle(event("/sorted.csv", FILTERED))
    assert second.status == 302
    assert second.headers["location"] != first.headers["location"]
    assert bench.scans == 2
    assert len([name for name in bench.listing() if name.endswith(".csv.gz")]) == 2


def test_small_results_still_stream(bench: Bench) -> None:
    response = bench.app(threshold=1_000_000).handle(event("/sorted.csv", "entity=1000001"))
    assert response.status == 200
    assert gzip.decompress(body(response)).count(b"\n") == 2
    assert bench.listing() == []


def test_a_filtered_upper_bound_is_counted_before_storing(bench: Bench) -> None:
    # entity=1000001 keeps its row group (1,000 rows) by statistics but matches one row: the count pass sees it.
    response = bench.app(threshold=2_000).handle(event("/sorted.csv", "entity=1000001", encoding="identity"))
    assert response.status == 200
    assert bench.listing() == []


class GatedStore:
    """A store whose writer waits until a second request has tried the lease, so the two surely overlap."""

    def __init__(self, inner: ResultStore) -> None:
        self.inner = inner
        self.attempts = 0
        self.both_tried = threading.Event()

    def exists(self, name: str) -> bool:
        return self.inner.exists(name)

    def acquire(self, name: str, ttl: float) -> bool:
        self.attempts += 1
        if self.attempts >= 2:
            self.both_tried.set()
        return self.inner.acquire(name, ttl)

    def write(self, name: str, chunks: Iterable[bytes], meta: ResultMeta) -> int:
        assert self.both_tried.wait(timeout=30)
        return self.inner.write(name, chunks, meta)

    def release(self, name: str) -> None:
        self.inner.release(name)


def test_concurrent_identical_requests_compute_once(bench: Bench) -> None:
    gated = GatedStore(bench.store)
    bench.store = gated
    app = bench.app()
    responses: list[Response] = []

    def run() -> None:
        responses.append(app.handle(event("/sorted.csv", FILTERED)))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [r.status for r in responses] == [302, 302]
    assert len({r.headers["location"] for r in responses}) == 1
    assert bench.scans == 1


def test_a_failure_midway_leaves_no_object_and_answers_a_problem(bench: Bench) -> None:
    size = (bench.data / "sorted.parquet").stat().st_size
    app = bench.app(source=BreakingSource(bench.data, size // 4))
    response = app.handle(event("/sorted.csv", "fields=entity,name,geometry"))
    assert (response.status, bench.scans) == (503, 1)  # it failed while writing the result
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["cache-control"] == "no-store"
    assert bench.listing() == []


class BrokenStore:
    """A results store that is down."""

    def exists(self, name: str) -> bool:
        raise StoreError("down")

    def write(self, name: str, chunks: Iterable[bytes], meta: ResultMeta) -> int:
        raise StoreError("down")

    def acquire(self, name: str, ttl: float) -> bool:
        raise StoreError("down")

    def release(self, name: str) -> None:
        raise AssertionError("never leased")


def test_a_broken_store_falls_back_to_streaming(data_folder: Path) -> None:
    app = App(WorkerSettings(source=str(data_folder), results_threshold=1), tracer=NullTracer(), results=BrokenStore())
    response = app.handle(event("/sorted.csv", FILTERED))
    assert response.status == 200
    assert gzip.decompress(body(response)).count(b"\n") == 2_001


class CountingSource(LocalSource):
    """A local source that counts the readers it opened (each one reads the footer again)."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.opens = 0

    def open(self, obj: Any) -> Any:
        self.opens += 1
        return super().open(obj)


class FailingWrites(LocalResultStore):
    """A results store that leases, then fails after the first chunk of every write."""

    def write(self, name: str, chunks: Iterable[bytes], meta: ResultMeta) -> int:
        next(iter(chunks))
        raise StoreError("disk full")


class FailingWritesAtOnce(LocalResultStore):
    """A results store that leases, then fails every write before taking a chunk (e.g. no temporary file)."""

    def write(self, name: str, chunks: Iterable[bytes], meta: ResultMeta) -> int:
        raise StoreError("read-only file system")


class LeaseHeldElsewhere(LocalResultStore):
    """A results store whose lease another writer holds and never gives up (nor writes the result)."""

    def acquire(self, name: str, ttl: float) -> bool:
        return False


@pytest.mark.parametrize(("broken", "opens"), [("lease", 1), ("wait", 1), ("write at once", 1), ("write", 2)])
def test_streaming_after_a_store_failure_opens_the_source_again_only_after_a_write(
    data_folder: Path, tmp_path: Path, broken: str, opens: int
) -> None:
    # A lease that fails, a wait for another writer that runs out, or a write that fails before its first chunk never
    # started the scan, so the opened reader streams; a write that fails midway consumed part of it, so the stream
    # comes from a fresh reader. Either way the client gets every row.
    source = CountingSource(data_folder)
    stores: dict[str, ResultStore] = {
        "lease": BrokenStore(),
        "wait": LeaseHeldElsewhere(tmp_path),
        "write at once": FailingWritesAtOnce(tmp_path),
        "write": FailingWrites(tmp_path),
    }
    store = stores[broken]
    settings = WorkerSettings(source=str(data_folder), results_threshold=1, results_wait_seconds=0)
    response = App(settings, source=source, tracer=NullTracer(), results=store).handle(event("/sorted.csv", FILTERED))
    assert response.status == 200
    assert gzip.decompress(body(response)).count(b"\n") == 2_001
    assert source.opens == opens


def test_a_waiter_streams_when_the_writer_never_finishes(tmp_path: Path) -> None:
    store = LocalResultStore(tmp_path)
    name = "0" * 32 + "-" + "0" * 16 + ".csv"
    assert store.acquire(name, ttl=60)
    ticks = iter(range(100))
    delivery = Delivery(store, wait_seconds=2, sleep=lambda _: None, clock=lambda: float(next(ticks)))
    meta = ResultMeta("text/csv", "attachment", "public")
    assert delivery.store_result(name, meta, lambda: iter([b"never"])) == "stream"


def test_settings_read_the_results_environment() -> None:
    settings = WorkerSettings.from_env(
        {"DATASET_SOURCE": "/data", "RESULTS_URL": "s3://b/results/", "RESULTS_THRESHOLD_BYTES": "123"}
    )
    assert (settings.results_url, settings.results_threshold) == ("s3://b/results/", 123)
    assert WorkerSettings.from_env({"DATASET_SOURCE": "/data"}).results_url is None
    assert WorkerSettings.from_env({"DATASET_SOURCE": "/data"}).results_threshold == 5 * 1024 * 1024
