"""The results store on a local folder and on moto S3: atomic writes, no partial objects, leases that expire."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.s3 import MotoS3
from worker.errors import SourceChanged
from worker.results import (
    SIDECAR_SUFFIX,
    LocalResultStore,
    ResultMeta,
    ResultStore,
    is_result_name,
    result_name,
    results_from_url,
)
from worker.s3results import PART_BYTES, S3ResultStore

NAME = result_name("/tree.csv?entity=1", "v1", "gzip", "csv")
META = ResultMeta("text/csv; charset=utf-8", 'attachment; filename="tree.csv"', "public, max-age=60", "gzip")


def test_result_names_depend_on_request_version_and_encoding() -> None:
    names = {
        result_name("/tree.csv?entity=1", "v1", "gzip", "csv"),
        result_name("/tree.csv?entity=2", "v1", "gzip", "csv"),
        result_name("/tree.csv?entity=1", "v2", "gzip", "csv"),
        result_name("/tree.csv?entity=1", "v1", "identity", "csv"),
    }
    assert len(names) == 4
    assert all(is_result_name(name) for name in names)
    assert NAME.endswith(".csv.gz")
    assert not is_result_name("../tree.csv")


def test_meta_headers_omit_an_absent_encoding() -> None:
    plain = ResultMeta("application/json", "attachment", "public")
    assert plain.headers() == {
        "cache-control": "public",
        "content-disposition": "attachment",
        "content-type": "application/json",
    }
    assert META.headers()["content-encoding"] == "gzip"


class Stores:
    """Builds a fresh store of one kind and lists what it holds."""

    def __init__(self, kind: str, tmp_path: Path, moto: MotoS3 | None) -> None:
        self.kind = kind
        self.tmp_path = tmp_path
        self.moto = moto
        self.bucket = moto.create_bucket() if moto is not None else ""

    def make(self) -> ResultStore:
        if self.moto is None:
            return LocalResultStore(self.tmp_path / "results")
        return S3ResultStore(self.bucket, "results/", self.moto.client)

    def listing(self) -> list[str]:
        """Every object or file the store holds, and (S3) every multipart upload still open."""
        if self.moto is None:
            folder = self.tmp_path / "results"
            return sorted(p.name for p in folder.iterdir()) if folder.exists() else []
        objects = self.moto.client.list_objects_v2(Bucket=self.bucket).get("Contents", [])
        uploads = self.moto.client.list_multipart_uploads(Bucket=self.bucket).get("Uploads", [])
        return sorted([str(o["Key"]) for o in objects] + [f"upload:{u['Key']}" for u in uploads])


@pytest.fixture(params=["local", "s3"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Stores:
    """A local folder and a moto S3 bucket: every store test runs on both."""
    moto = request.getfixturevalue("moto_s3") if request.param == "s3" else None
    return Stores(request.param, tmp_path, moto)


def test_written_result_exists_with_its_bytes(stores: Stores) -> None:
    store = stores.make()
    assert not store.exists(NAME)
    data = gzip.compress(b"a,b\n1,2\n", mtime=0)
    assert store.write(NAME, iter([data[:5], data[5:]]), META) == len(data)
    assert store.exists(NAME)
    if stores.moto is None:
        assert (stores.tmp_path / "results" / NAME).read_bytes() == data
        sidecar = json.loads((stores.tmp_path / "results" / (NAME + SIDECAR_SUFFIX)).read_text())
        assert sidecar == META.headers()
    else:
        head = stores.moto.client.head_object(Bucket=stores.bucket, Key=f"results/{NAME}")
        assert (head["ContentType"], head["ContentEncoding"]) == (META.content_type, "gzip")
        assert head["ContentDisposition"] == META.content_disposition
        assert head["CacheControl"] == META.cache_control
        body = stores.moto.client.get_object(Bucket=stores.bucket, Key=f"results/{NAME}")["Body"].read()
        assert body == data


def test_large_result_is_uploaded_in_parts_and_read_back_whole(stores: Stores) -> None:
    store = stores.make()
    chunk = bytes(range(256)) * 4096  # 1 MiB
    count = PART_BYTES // len(chunk) * 2 + 3  # two full parts and a short last one
    assert store.write(NAME, iter([chunk] * count), META) == count * len(chunk)
    assert store.exists(NAME)
    if stores.moto is not None:
        head = stores.moto.client.head_object(Bucket=stores.bucket, Key=f"results/{NAME}")
        assert head["ContentLength"] == count * len(chunk)
        assert str(head["ETag"]).strip('"').endswith("-3")  # a multipart object of three parts


def _failing(after: int) -> Iterator[bytes]:
    chunk = b"x" * (1 << 20)
    for _ in range(after):
        yield chunk
    raise SourceChanged("the dataset was replaced while it was being read")


@pytest.mark.parametrize(
    "after_mib",
    [pytest.param(1, id="before-the-first-part"), pytest.param(PART_BYTES // (1 << 20) + 2, id="mid-multipart")],
)
def test_a_failure_midway_leaves_nothing_visible(stores: Stores, after_mib: int) -> None:
    store = stores.make()
    with pytest.raises(SourceChanged):
        store.write(NAME, _failing(after_mib), META)
    assert not store.exists(NAME)
    assert stores.listing() == []


def test_one_lease_at_a_time_until_released(stores: Stores) -> None:
    store = stores.make()
    assert store.acquire(NAME, ttl=60)
    assert not store.acquire(NAME, ttl=60)
    assert not stores.make().acquire(NAME, ttl=60)  # another process's view of the same store
    store.release(NAME)
    assert store.acquire(NAME, ttl=60)
    store.release(NAME)
    assert stores.listing() == []


def test_a_crashed_writers_lease_expires(stores: Stores) -> None:
    store = stores.make()
    assert store.acquire(NAME, ttl=60)
    # Never released (the writer crashed): once older than the time to live it is taken over.
    assert stores.make().acquire(NAME, ttl=-1)
    assert not store.acquire(NAME, ttl=60)


def test_results_from_url_picks_the_store(tmp_path: Path, moto_s3: MotoS3) -> None:
    assert isinstance(results_from_url(str(tmp_path)), LocalResultStore)
    s3 = results_from_url("s3://bucket/results", s3_client=moto_s3.client)
    assert isinstance(s3, S3ResultStore)
    assert (s3.bucket, s3.prefix) == ("bucket", "results/")
