"""Results in S3 under ``s3://bucket/prefix/``: streamed in by multipart upload, leased by conditional put.

A result smaller than one part is a single PutObject; a larger one a multipart upload of :data:`PART_BYTES`
parts (S3's minimum is 5 MiB), aborted if anything fails, so no partial object ever becomes visible. The lease
is ``{name}.lease`` created with ``If-None-Match: *`` (S3 conditional writes): exactly one concurrent writer
succeeds; a lease older than its time to live belongs to a crashed writer and is taken over.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from worker.results import LEASE_SUFFIX, ResultMeta, StoreError, is_result_name
from worker.s3source import S3Prefix
from worker.s3url import error_code

PART_BYTES = 8 * 1024 * 1024
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
_TAKEN = {"412", "PreconditionFailed", "409", "ConditionalRequestConflict"}
_STORE_ERRORS = (ClientError, BotoCoreError)


class S3ResultStore(S3Prefix):
    """See :class:`worker.results.ResultStore`."""

    def key(self, name: str) -> str:
        """The object key of the result ``name``."""
        if not is_result_name(name):
            raise ValueError(f"not a result name: {name!r}")
        return f"{self.prefix}{name}"

    def exists(self, name: str) -> bool:
        """See :class:`worker.results.ResultStore`."""
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(name))
        except ClientError as error:
            if error_code(error) in _NOT_FOUND:
                return False
            raise StoreError("cannot look up a result") from error
        except BotoCoreError as error:
            raise StoreError("cannot look up a result") from error
        return True

    def write(self, name: str, chunks: Iterable[bytes], meta: ResultMeta) -> int:
        """See :class:`worker.results.ResultStore`: at most one part is held in memory."""
        key = self.key(name)
        params = _object_params(meta)
        pending = bytearray()
        upload: _Upload | None = None
        size = 0
        try:
            for chunk in chunks:
                pending += chunk
                size += len(chunk)
                if len(pending) >= PART_BYTES:
                    upload = upload or _Upload.start(self.client, self.bucket, key, params)
                    upload.add(bytes(pending))
                    pending.clear()
            if upload is None:
                _call(self.client.put_object, Bucket=self.bucket, Key=key, Body=bytes(pending), **params)
            else:
                if pending:
                    upload.add(bytes(pending))
                upload.complete()
        except BaseException:
            if upload is not None:
                upload.abort()
            raise
        return size

    def acquire(self, name: str, ttl: float) -> bool:
        """See :class:`worker.results.ResultStore`."""
        key = self.key(name) + LEASE_SUFFIX
        for _ in range(2):
            try:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=b"", IfNoneMatch="*")
            except ClientError as error:
                if error_code(error) not in _TAKEN:
                    raise StoreError("cannot take a result lease") from error
                if not self._expired(key, ttl):
                    return False
                # Two takers of one expired lease may both delete and retry; one of them wins the put, and at
                # worst both compute the same deterministic bytes.
                _call(self.client.delete_object, Bucket=self.bucket, Key=key)
                continue
            except BotoCoreError as error:
                raise StoreError("cannot take a result lease") from error
            return True
        return False

    def release(self, name: str) -> None:
        """See :class:`worker.results.ResultStore`."""
        with contextlib.suppress(*_STORE_ERRORS):  # an unreleased lease expires by itself
            self.client.delete_object(Bucket=self.bucket, Key=self.key(name) + LEASE_SUFFIX)

    def _expired(self, key: str, ttl: float) -> bool:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error_code(error) in _NOT_FOUND:
                return True  # released in the meantime: try again
            raise StoreError("cannot read a result lease") from error
        except BotoCoreError as error:
            raise StoreError("cannot read a result lease") from error
        modified: datetime = head["LastModified"]
        return (datetime.now(UTC) - modified).total_seconds() > ttl


class _Upload:
    """One multipart upload in progress."""

    def __init__(self, client: Any, bucket: str, key: str, upload_id: str) -> None:
        self.client = client
        self.bucket = bucket
        self.key = key
        self.upload_id = upload_id
        self.parts: list[dict[str, Any]] = []

    @classmethod
    def start(cls, client: Any, bucket: str, key: str, params: dict[str, str]) -> _Upload:
        started = _call(client.create_multipart_upload, Bucket=bucket, Key=key, **params)
        return cls(client, bucket, key, str(started["UploadId"]))

    def add(self, data: bytes) -> None:
        number = len(self.parts) + 1
        part = _call(
            self.client.upload_part,
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=data,
        )
        self.parts.append({"PartNumber": number, "ETag": part["ETag"]})

    def complete(self) -> None:
        _call(
            self.client.complete_multipart_upload,
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": self.parts},
        )

    def abort(self) -> None:
        # If this fails too, the bucket's lifecycle rule aborts the incomplete upload after a day.
        with contextlib.suppress(*_STORE_ERRORS):
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)


def _object_params(meta: ResultMeta) -> dict[str, str]:
    params = {
        "ContentType": meta.content_type,
        "ContentDisposition": meta.content_disposition,
        "CacheControl": meta.cache_control,
    }
    if meta.content_encoding:
        params["ContentEncoding"] = meta.content_encoding
    return params


def _call(method: Any, **kwargs: Any) -> dict[str, Any]:
    """One S3 call whose failure is the store's (StoreError), never the source's."""
    try:
        result: dict[str, Any] = method(**kwargs)
    except _STORE_ERRORS as error:
        raise StoreError(f"results store call failed: {getattr(method, '__name__', 'call')}") from error
    return result
