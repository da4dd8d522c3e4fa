"""Datasets in S3: ``stat`` is a HeadObject; reads are ranged GetObjects pinned to the version ``stat`` saw.

Pinning uses ``VersionId`` when the bucket is versioned, else ``If-Match`` on the ETag, so an object replaced
mid-download fails the next read with SourceChanged instead of mixing two versions' bytes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Self

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)

from edge.errors import quote_input
from worker.errors import DatasetNotFound, SourceBusy, SourceChanged, SourceUnavailable, WorkerError
from worker.s3url import error_code, split_s3_url
from worker.source import RangeReader, SourceObject, object_name

# Bounded retries and timeouts: a request that cannot reach S3 should become a 502 quickly, not hang
# the function until its own timeout.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4},
    connect_timeout=3,
    read_timeout=20,
    max_pool_connections=16,
)
# botocore retries requests, not body reads: a connection dropped mid-body is retried here.
BODY_ATTEMPTS = 3
_BODY_ERRORS = (ResponseStreamingError, ReadTimeoutError, IncompleteReadError)
_NOT_FOUND = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}
_CHANGED = {"412", "PreconditionFailed", "NoSuchVersion", "NoSuchKey", "404", "InvalidArgument"}
_BUSY = {"SlowDown", "503", "Throttling", "ThrottlingException", "RequestLimitExceeded", "ServiceUnavailable"}


class S3Prefix:
    """Objects under ``s3://{bucket}/{prefix}``, read or written with ``client`` (the dataset source, the results
    store)."""

    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.client = client

    @classmethod
    def from_url(cls, url: str, *, client: Any | None = None) -> Self:
        """``s3://bucket/prefix/`` → an instance; builds a boto3 client (honouring ``AWS_ENDPOINT_URL``) if none."""
        bucket, prefix = split_s3_url(url)
        return cls(bucket, prefix, client or boto3.client("s3", config=CLIENT_CONFIG))


class S3Source(S3Prefix):
    """Datasets as ``s3://{bucket}/{prefix}{dataset}.parquet``."""

    def key(self, dataset: str) -> str:
        """The object key of ``dataset``."""
        return f"{self.prefix}{object_name(dataset)}"

    def stat(self, dataset: str) -> SourceObject:
        """HeadObject: the size, version, ETag and Last-Modified of the dataset's current object."""
        key = self.key(dataset)
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error_code(error) in _NOT_FOUND:
                raise DatasetNotFound(f"There is no dataset named {quote_input(dataset)}.") from None
            raise _unavailable(error) from error
        except BotoCoreError as error:
            raise _unavailable(error) from error
        etag = str(head["ETag"]).strip('"')
        version_id = head.get("VersionId")
        # "null" is the version of an object written while versioning was off or suspended: it can be
        # overwritten in place, so it pins nothing and the ETag is used instead.
        version_id = version_id if version_id and version_id != "null" else None
        last_modified: datetime = head["LastModified"]
        return SourceObject(
            dataset=dataset,
            size=int(head["ContentLength"]),
            version=version_id or etag,
            etag=etag,
            last_modified=last_modified.astimezone(UTC),
            version_id=version_id,
        )

    def open(self, obj: SourceObject) -> S3Reader:
        """A reader of ``obj`` by ranged GETs; no request is made until the first read."""
        return S3Reader(self.client, self.bucket, self.key(obj.dataset), obj)


def _unavailable(error: Exception) -> WorkerError:
    if isinstance(error, ClientError) and error_code(error) in _BUSY:
        return SourceBusy("The dataset store is busy; try again shortly.")
    return SourceUnavailable("The dataset store could not be read.")


class S3Reader(RangeReader):
    """Random access to one object version by ranged GETs; counts requests and bytes."""

    def __init__(self, client: Any, bucket: str, key: str, obj: SourceObject) -> None:
        super().__init__(obj.size)
        self._client = client
        self._bucket = bucket
        self._key = key
        self._obj = obj

    def read_range(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)``: a body cut off mid-way is fetched again, up to ``BODY_ATTEMPTS`` in all."""
        for _ in range(BODY_ATTEMPTS - 1):
            try:
                return self._get_once(start, end)
            except _BODY_ERRORS:
                continue
        try:
            return self._get_once(start, end)
        except _BODY_ERRORS as error:
            raise _unavailable(error) from error

    def _get_once(self, start: int, end: int) -> bytes:
        pin = {"VersionId": self._obj.version_id} if self._obj.version_id else {"IfMatch": f'"{self._obj.etag}"'}
        self.count(requests=1)
        try:
            response = self._client.get_object(
                Bucket=self._bucket, Key=self._key, Range=f"bytes={start}-{end - 1}", **pin
            )
        except ClientError as error:
            if error_code(error) in _CHANGED:
                raise self._changed() from None
            raise _unavailable(error) from error
        except BotoCoreError as error:
            raise _unavailable(error) from error
        body = response["Body"]
        try:
            self._check(response)
            data: bytes = body.read()
        finally:
            body.close()
        self.count(bytes_read=len(data))
        if len(data) != end - start:
            raise self._changed()
        return data

    def _check(self, response: dict[str, Any]) -> None:
        """A belt to the pin's braces: the response must be the pinned version of an object of the same size."""
        etag = str(response.get("ETag", "")).strip('"')
        total = str(response.get("ContentRange", "")).rpartition("/")[2]
        if self._obj.version_id and response.get("VersionId") != self._obj.version_id:
            raise self._changed()
        if (not self._obj.version_id and etag != self._obj.etag) or total != str(self._obj.size):
            raise self._changed()

    def _changed(self) -> SourceChanged:
        return SourceChanged(f"Dataset {quote_input(self._obj.dataset)} changed while it was being read.")
