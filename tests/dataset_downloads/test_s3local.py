"""--s3 mode: a moto S3 server on loopback with the samples uploaded, served through the local stack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests

from dataset_downloads.s3local import BUCKET, LocalS3, start_local_s3
from dataset_downloads.server import start_server
from tests.dataset_downloads.local_stack import FakeWorker, small_samples

__all__ = ["small_samples"]  # fixtures used by name


@pytest.fixture(scope="module")
def local_s3(small_samples: Path) -> Iterator[LocalS3]:
    """moto on 127.0.0.1 holding the small samples; while this module runs, boto3 is pointed at it."""
    s3 = start_local_s3(small_samples)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in s3.environ.items():
            patch.setenv(name, value)
        try:
            yield s3
        finally:
            s3.stop()


def test_bucket_is_versioned_and_holds_the_samples(local_s3: LocalS3, small_samples: Path) -> None:
    client = boto3.client("s3")
    assert client.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    keys = sorted(item["Key"] for item in client.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert keys == [f"datasets/{p.name}" for p in sorted(small_samples.glob("*.parquet"))]
    assert local_s3.url == f"s3://{BUCKET}/datasets/"


def test_source_objects_are_served_from_s3(local_s3: LocalS3, small_samples: Path) -> None:
    expected = (small_samples / "tree.parquet").read_bytes()
    base_url, stop = start_server(local_s3.url, worker=FakeWorker())
    try:
        whole = requests.get(f"{base_url}/tree.parquet", timeout=10)
        assert (whole.status_code, whole.content) == (200, expected)
        assert whole.history[0].status_code == 302
        tail = requests.get(f"{base_url}/source/tree.parquet", headers={"Range": "bytes=-4"}, timeout=10)
        assert (tail.status_code, tail.content, tail.headers["ETag"]) == (206, b"PAR1", whole.headers["ETag"])
        assert requests.get(f"{base_url}/source/nope.parquet", timeout=10).status_code == 404
    finally:
        stop()
