"""Tests for worker/source.py and worker/s3source.py: resolving, stat'ing and pinned reading of dataset objects."""

from __future__ import annotations

import os
import socket
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botocore.config import Config

from tests.support.s3 import MotoS3, s3_client
from tests.worker.conftest import StatusServer
from worker.errors import DatasetNotFound, SourceBusy, SourceChanged, SourceUnavailable
from worker.s3source import S3Source
from worker.source import LocalSource, Source, SourceObject, object_name, source_from_url

PAYLOAD = bytes(range(256)) * 64  # 16 KiB of distinct-looking bytes
OTHER = b"\x01" * len(PAYLOAD)


def read_all(source: Source, dataset: str) -> bytes:
    obj = source.stat(dataset)
    reader = source.open(obj)
    try:
        reader.seek(100)
        tail = reader.read(-1)
        reader.seek(0)
        return reader.read(100) + tail
    finally:
        reader.close()


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("../etc/passwd", id="traversal"),
        pytest.param("a/b", id="slash"),
        pytest.param("Upper", id="uppercase"),
        pytest.param("-lead", id="leading-dash"),
        pytest.param("", id="empty"),
        pytest.param("a.b", id="dot"),
        pytest.param("a" * 101, id="too-long"),
    ],
)
def test_object_name_refuses_non_dataset_names(name: str) -> None:
    with pytest.raises(DatasetNotFound):
        object_name(name)


def test_object_name() -> None:
    assert object_name("conservation-area") == "conservation-area.parquet"


# --- local folder ---------------------------------------------------------------------------------------------


def test_local_missing_dataset(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFound):
        LocalSource(tmp_path).stat("nope")


def test_local_missing_folder_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailable):
        LocalSource(tmp_path / "absent").stat("nope")


def test_local_stat_and_read(tmp_path: Path) -> None:
    path = tmp_path / "area.parquet"
    path.write_bytes(PAYLOAD)
    source = source_from_url(str(tmp_path))
    obj = source.stat("area")
    info = path.stat()
    assert (obj.dataset, obj.size, obj.etag, obj.version_id) == ("area", len(PAYLOAD), None, None)
    assert obj.version == f"{info.st_ino}-{info.st_mtime_ns}-{info.st_size}"
    assert obj.last_modified.tzinfo is UTC
    assert abs(obj.last_modified.timestamp() - info.st_mtime) < 1e-3
    reader = source.open(obj)
    assert reader.read(10) == PAYLOAD[:10]
    assert (reader.requests, reader.bytes_read) == (1, 10)
    reader.close()
    assert read_all(source, "area") == PAYLOAD


def test_local_symlink_inside_folder_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real.parquet").write_bytes(PAYLOAD)
    (tmp_path / "alias.parquet").symlink_to(tmp_path / "real.parquet")
    assert read_all(LocalSource(tmp_path), "alias") == PAYLOAD


def test_local_symlink_escaping_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    secret = tmp_path / "secret.parquet"
    secret.write_bytes(PAYLOAD)
    (folder / "escape.parquet").symlink_to(secret)
    with pytest.raises(DatasetNotFound):
        LocalSource(folder).stat("escape")


def test_local_symlink_loop_is_not_a_dataset(tmp_path: Path) -> None:
    (tmp_path / "loop.parquet").symlink_to(tmp_path / "loop.parquet")
    with pytest.raises(DatasetNotFound):
        LocalSource(tmp_path).stat("loop")


def test_local_directory_is_not_a_dataset(tmp_path: Path) -> None:
    (tmp_path / "dir.parquet").mkdir()
    with pytest.raises(DatasetNotFound):
        LocalSource(tmp_path).stat("dir")


def test_local_in_place_change_fails_the_next_read(tmp_path: Path) -> None:
    path = tmp_path / "area.parquet"
    path.write_bytes(PAYLOAD)
    source = LocalSource(tmp_path)
    reader = source.open(source.stat("area"))
    assert reader.read(10) == PAYLOAD[:10]
    with path.open("ab") as handle:
        handle.write(b"more")
    with pytest.raises(SourceChanged):
        reader.read(10)
    reader.close()


def test_local_rename_over_keeps_reading_the_pinned_file(tmp_path: Path) -> None:
    path = tmp_path / "area.parquet"
    path.write_bytes(PAYLOAD)
    source = LocalSource(tmp_path)
    reader = source.open(source.stat("area"))
    replacement = tmp_path / "new.tmp"
    replacement.write_bytes(OTHER)
    replacement.replace(path)
    assert reader.read(-1) == PAYLOAD
    reader.close()


def test_local_change_between_stat_and_open(tmp_path: Path) -> None:
    path = tmp_path / "area.parquet"
    path.write_bytes(PAYLOAD)
    source = LocalSource(tmp_path)
    obj = source.stat("area")
    later = obj.last_modified + timedelta(seconds=5)
    os.utime(path, ns=(int(later.timestamp() * 1e9),) * 2)
    with pytest.raises(SourceChanged):
        source.open(obj)


# --- S3 -------------------------------------------------------------------------------------------------------

BUCKET_KINDS = [pytest.param(False, id="unversioned"), pytest.param(True, id="versioned")]


@pytest.mark.parametrize("versioned", BUCKET_KINDS)
def test_s3_missing_dataset(moto_s3: MotoS3, versioned: bool) -> None:
    bucket = moto_s3.create_bucket(versioned=versioned)
    with pytest.raises(DatasetNotFound):
        source_from_url(f"s3://{bucket}/prefix/").stat("nope")


def test_s3_missing_bucket(moto_s3: MotoS3) -> None:
    with pytest.raises(DatasetNotFound):
        source_from_url("s3://no-such-bucket-here/").stat("nope")


@pytest.mark.parametrize("versioned", BUCKET_KINDS)
def test_s3_stat_and_pinned_read(moto_s3: MotoS3, versioned: bool) -> None:
    bucket = moto_s3.create_bucket(versioned=versioned)
    put = moto_s3.client.put_object(Bucket=bucket, Key="data/sets/area.parquet", Body=PAYLOAD)
    # Built from AWS_ENDPOINT_URL and the environment's credentials, as in Lambda.
    source = source_from_url(f"s3://{bucket}/data/sets")
    obj = source.stat("area")
    etag = put["ETag"].strip('"')
    assert (obj.dataset, obj.size, obj.etag) == ("area", len(PAYLOAD), etag)
    assert obj.version_id == (put["VersionId"] if versioned else None)
    assert obj.version == (put["VersionId"] if versioned else etag)
    assert obj.last_modified.tzinfo == UTC
    assert abs(obj.last_modified - datetime.now(UTC)) < timedelta(minutes=5)
    moto_s3.counter.reset()
    reader = source.open(obj)
    assert reader.read(100) == PAYLOAD[:100]
    reader.seek(-50, os.SEEK_END)
    assert reader.read(1000) == PAYLOAD[-50:]
    assert reader.read(10) == b""
    assert (reader.requests, reader.bytes_read) == (2, 150)
    assert moto_s3.traffic(bucket, "data/sets/area.parquet").body_bytes == 150
    reader.close()


def test_s3_bucket_root_prefix(moto_s3: MotoS3) -> None:
    bucket = moto_s3.create_bucket()
    moto_s3.client.put_object(Bucket=bucket, Key="area.parquet", Body=PAYLOAD)
    source = source_from_url(f"s3://{bucket}", s3_client=moto_s3.client)
    assert isinstance(source, S3Source)
    assert read_all(source, "area") == PAYLOAD


def test_s3_unversioned_replacement_fails_the_next_read(moto_s3: MotoS3) -> None:
    bucket = moto_s3.create_bucket()
    moto_s3.client.put_object(Bucket=bucket, Key="area.parquet", Body=PAYLOAD)
    source = source_from_url(f"s3://{bucket}/", s3_client=moto_s3.client)
    reader = source.open(source.stat("area"))
    assert reader.read(10) == PAYLOAD[:10]
    moto_s3.client.put_object(Bucket=bucket, Key="area.parquet", Body=OTHER)
    with pytest.raises(SourceChanged):
        reader.read(10)


def test_s3_versioned_replacement_keeps_reading_the_pinned_version(moto_s3: MotoS3) -> None:
    bucket = moto_s3.create_bucket(versioned=True)
    moto_s3.client.put_object(Bucket=bucket, Key="area.parquet", Body=PAYLOAD)
    source = source_from_url(f"s3://{bucket}/", s3_client=moto_s3.client)
    reader = source.open(source.stat("area"))
    assert reader.read(10) == PAYLOAD[:10]
    moto_s3.client.put_object(Bucket=bucket, Key="area.parquet", Body=OTHER)
    assert reader.read(-1) == PAYLOAD[10:]
    reader.close()


def test_s3_versioned_deleted_version_fails_the_next_read(moto_s3: MotoS3) -> None:
    bucket = moto_s3.create_bucket(versioned=True)
    moto_s3.client.put_object(Bucket=bucket, Key="area.parquet", Body=PAYLOAD)
    source = source_from_url(f"s3://{bucket}/", s3_client=moto_s3.client)
    obj = source.stat("area")
    reader = source.open(obj)
    assert reader.read(10) == PAYLOAD[:10]
    moto_s3.client.delete_object(Bucket=bucket, Key="area.parquet", VersionId=str(obj.version_id))
    with pytest.raises(SourceChanged):
        reader.read(10)


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        pytest.param(500, "InternalError", SourceUnavailable, id="internal-error"),
        pytest.param(403, "AccessDenied", SourceUnavailable, id="access-denied"),
        pytest.param(503, "SlowDown", SourceBusy, id="slow-down"),
    ],
)
def test_s3_errors_before_the_first_byte(
    status_server: StatusServer, status: int, code: str, error: type[Exception]
) -> None:
    status_server.status, status_server.code = status, code
    source = source_from_url("s3://bucket/", s3_client=status_server.client())
    with pytest.raises(error):
        source.stat("area")


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        pytest.param(412, "PreconditionFailed", SourceChanged, id="precondition-failed"),
        pytest.param(404, "NoSuchVersion", SourceChanged, id="no-such-version"),
        pytest.param(500, "InternalError", SourceUnavailable, id="internal-error"),
        pytest.param(503, "SlowDown", SourceBusy, id="slow-down"),
    ],
)
def test_s3_errors_while_reading(status_server: StatusServer, status: int, code: str, error: type[Exception]) -> None:
    status_server.status, status_server.code = status, code
    source = S3Source("bucket", "", status_server.client())
    obj = SourceObject("area", 100, "abc", "abc", datetime.now(UTC))
    reader = source.open(obj)
    with pytest.raises(error):
        reader.read(10)
    assert reader.requests == 1


def test_s3_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=1)
    source = S3Source("bucket", "", s3_client(f"http://127.0.0.1:{port}", config=config))
    with pytest.raises(SourceUnavailable):
        source.stat("area")


# --- reads from several threads -------------------------------------------------------------------------------


def test_each_thread_reads_at_its_own_position(tmp_path: Path) -> None:
    """pyarrow learns a file's size (seek to the end, tell) without its read lock while another thread reads:
    positions are per thread, so one thread's seek never moves another's read."""
    (tmp_path / "data.parquet").write_bytes(PAYLOAD)
    source = LocalSource(tmp_path)
    reader = source.open(source.stat("data"))
    barrier = threading.Barrier(2)
    got: dict[str, bytes] = {}

    def first() -> None:
        reader.seek(100)
        barrier.wait()  # the other thread seeks to the end now
        barrier.wait()
        got["first"] = reader.read(10)

    def second() -> None:
        barrier.wait()
        got["end"] = bytes([reader.seek(0, os.SEEK_END) == len(PAYLOAD)])
        barrier.wait()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reader.close()
    assert got == {"first": PAYLOAD[100:110], "end": b"\x01"}


def test_counters_add_up_across_threads(tmp_path: Path) -> None:
    (tmp_path / "data.parquet").write_bytes(PAYLOAD)
    source = LocalSource(tmp_path)
    reader = source.open(source.stat("data"))

    def read_many() -> None:
        for i in range(300):
            reader.seek(i * 7)
            assert reader.read(16) == PAYLOAD[i * 7 : i * 7 + 16]

    threads = [threading.Thread(target=read_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reader.close()
    assert (reader.requests, reader.bytes_read) == (4 * 300, 4 * 300 * 16)
