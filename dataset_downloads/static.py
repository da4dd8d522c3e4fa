"""``/source/{dataset}.parquet`` and ``/results/{name}``: objects in S3, as CloudFront's S3 behaviours serve them.

The edge redirects whole-dataset Parquet downloads to ``/source/``; the worker redirects large results to
``/results/`` (the results store, whose objects carry their own Content-Type, Content-Encoding and
Content-Disposition: S3 object metadata, or a sidecar file locally). Like S3 behind CloudFront: ``Content-Length``,
``ETag``, ``Last-Modified``, single byte ranges (206, or 416 when unsatisfiable), ``If-None-Match`` (304),
a problem+json 404 for a dataset that does not exist, and the body streamed in chunks. Only names matching
the dataset grammar are looked up, so no path can leave the data folder.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote

from edge.problem import PROBLEM_CONTENT_TYPE, problem_document
from worker.headers import matches_if_none_match
from worker.results import SIDECAR_SUFFIX, is_result_name
from worker.s3url import split_s3_url

SOURCE_PREFIX = "/source/"
RESULTS_PREFIX = "/results/"
CHUNK_BYTES = 256 << 10
_OBJECT = re.compile(r"([a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?)\.parquet")
_S3_HEADERS = (
    ("ContentType", "content-type"),
    ("ContentEncoding", "content-encoding"),
    ("ContentDisposition", "content-disposition"),
    ("CacheControl", "cache-control"),
)
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
PARQUET_TYPE = "application/vnd.apache.parquet"


@dataclass(frozen=True)
class ObjectInfo:
    """What a HEAD of a source object tells: size, strong ETag (quoted) and last modification (HTTP date)."""

    size: int
    etag: str
    last_modified: str
    # Headers stored with the object (content-type, content-encoding, content-disposition, cache-control).
    headers: tuple[tuple[str, str], ...] = ()


class ObjectStore(Protocol):
    """Where the source objects live: a local folder or an S3 prefix."""

    def stat(self, name: str) -> ObjectInfo | None:
        """The object's metadata, or ``None`` when there is no such object."""

    def read(self, name: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes ``start`` to ``end`` inclusive, in chunks."""


class LocalStore:
    """Objects in a folder; the ETag is derived from size and modification time (cheap and strong enough)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()

    def _path(self, name: str) -> Path | None:
        path = (self.directory / name).resolve()
        return path if path.parent == self.directory and path.is_file() else None

    def stat(self, name: str) -> ObjectInfo | None:
        """See :class:`ObjectStore`."""
        path = self._path(name)
        if path is None:
            return None
        st = path.stat()
        sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
        stored = json.loads(sidecar.read_text(encoding="utf-8")) if sidecar.is_file() else {}
        headers = tuple((str(name), str(value)) for name, value in stored.items())
        etag = f'"{st.st_size:x}-{st.st_mtime_ns:x}"'
        return ObjectInfo(st.st_size, etag, formatdate(st.st_mtime, usegmt=True), headers)

    def read(self, name: str, start: int, end: int) -> Iterator[bytes]:
        """See :class:`ObjectStore`."""
        path = self._path(name)
        if path is None:
            return
        with path.open("rb") as handle:
            handle.seek(start)
            remaining = end - start + 1
            while remaining > 0:
                chunk = handle.read(min(CHUNK_BYTES, remaining))
                if not chunk:
                    raise OSError(f"{name} shrank while it was being read")
                remaining -= len(chunk)
                yield chunk


class S3Store:
    """Objects under ``s3://bucket/prefix/`` (boto3 honours ``AWS_ENDPOINT_URL``, so moto works too)."""

    def __init__(self, url: str, client: Any = None) -> None:
        self.bucket, self.prefix = split_s3_url(url)
        if client is None:
            import boto3  # noqa: PLC0415  # only the S3 mode pays for boto3's import

            client = boto3.client("s3")
        self.client = client

    def stat(self, name: str) -> ObjectInfo | None:
        """See :class:`ObjectStore`."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.prefix + name)
        except self.client.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        modified = formatdate(head["LastModified"].timestamp(), usegmt=True)
        stored = ((header, head.get(field)) for field, header in _S3_HEADERS)
        headers = tuple((header, str(value)) for header, value in stored if value)
        return ObjectInfo(int(head["ContentLength"]), str(head["ETag"]), modified, headers)

    def read(self, name: str, start: int, end: int) -> Iterator[bytes]:
        """See :class:`ObjectStore`."""
        response = self.client.get_object(Bucket=self.bucket, Key=self.prefix + name, Range=f"bytes={start}-{end}")
        body = response["Body"]
        try:
            yield from body.iter_chunks(CHUNK_BYTES)
        finally:
            body.close()


def store_for(source: str) -> ObjectStore:
    """The store for a ``--data`` (or ``--results``) value: ``s3://bucket/prefix/`` or a local folder."""
    return S3Store(source) if source.startswith("s3://") else LocalStore(Path(source))


@dataclass
class StaticResponse:
    """A response to a source request: status, headers, body chunks (empty for HEAD, 304, 416, 404)."""

    status: int
    headers: list[tuple[str, str]]
    body: Iterator[bytes]


def serve_source(store: ObjectStore, method: str, uri: str, headers: Mapping[str, str]) -> StaticResponse:
    """Answer ``GET|HEAD /source/{dataset}.parquet`` from ``store`` (``headers`` with lowercase names)."""
    name = unquote(uri.removeprefix(SOURCE_PREFIX))
    info = store.stat(name) if _OBJECT.fullmatch(name) else None
    return _serve(store, method, name, info, headers)


def serve_result(store: ObjectStore, method: str, uri: str, headers: Mapping[str, str]) -> StaticResponse:
    """Answer ``GET|HEAD /results/{name}`` from the results ``store``, with the headers stored with it."""
    name = unquote(uri.removeprefix(RESULTS_PREFIX))
    info = store.stat(name) if is_result_name(name) else None
    return _serve(store, method, name, info, headers)


def _serve(
    store: ObjectStore, method: str, name: str, info: ObjectInfo | None, headers: Mapping[str, str]
) -> StaticResponse:
    if info is None:
        return _not_found()
    stored = dict(info.headers)
    common = [("ETag", info.etag), ("Last-Modified", info.last_modified), ("Accept-Ranges", "bytes")]
    common += [("Cache-Control", stored.pop("cache-control", "public, max-age=3600"))]
    if matches_if_none_match(headers.get("if-none-match"), info.etag):
        return StaticResponse(304, common, iter(()))
    span = _byte_range(headers.get("range"), info.size)
    if span is None:
        return StaticResponse(416, [*common, ("Content-Range", f"bytes */{info.size}")], iter(()))
    start, end, partial = span
    out = [("Content-Type", stored.pop("content-type", PARQUET_TYPE)), ("Content-Length", str(end - start + 1))]
    out += [*common, *((name.title(), value) for name, value in sorted(stored.items()))]
    if partial:
        out.append(("Content-Range", f"bytes {start}-{end}/{info.size}"))
    empty = method == "HEAD" or end < start
    body = iter(()) if empty else store.read(name, start, end)
    return StaticResponse(206 if partial else 200, out, body)


def _byte_range(value: str | None, size: int) -> tuple[int, int, bool] | None:
    """``(start, end, partial)`` for a ``Range`` header; the whole object when absent or not one byte range;
    ``None`` when unsatisfiable (RFC 9110 §14.1.2).
    """
    whole = (0, size - 1, False)
    match = _RANGE.fullmatch((value or "").strip())
    if match is None or match.group(1) == match.group(2) == "":
        return whole
    first, last = match.group(1), match.group(2)
    if first == "":
        length = int(last)
        return (max(0, size - length), size - 1, True) if length and size else None
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if last and int(last) < start:
        return whole  # not a valid range-spec: ignored, as S3 does
    if start >= size:
        return None
    return start, end, True


def _not_found() -> StaticResponse:
    # The path is not echoed: it is untrusted input.
    body = problem_document(404, "dataset-not-found", "Dataset not found", "No source object at this path.", [])
    headers = [
        ("Content-Type", PROBLEM_CONTENT_TYPE),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "public, max-age=60"),
    ]
    return StaticResponse(404, headers, iter((body,)))
