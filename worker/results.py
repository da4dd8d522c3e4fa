"""The results store: large results written once, then served by the CDN instead of streamed by the worker.

A result is named by the canonical request, the source version and the content encoding
(:func:`result_name`), so a name never needs invalidating: a republished dataset gives new names. Writers
stream the encoder's output (never the whole result in memory) and make it visible atomically: a failed write
leaves nothing behind. A short *lease* beside the name lets one request compute a result while concurrent
requests for it wait. :func:`results_from_url` picks S3 (``worker.s3results``) or :class:`LocalResultStore`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from edge.canonical import cache_key_digest

# Bump when an encoder's output changes for the same request and source version, so stored results are
# recomputed rather than served in the old dialect.
RESULT_REVISION = "1"
# Locally, the headers S3 would keep as object metadata live in a sidecar file beside the result.
SIDECAR_SUFFIX = ".headers.json"
LEASE_SUFFIX = ".lease"
_NAME = re.compile(r"[0-9a-f]{32}-[0-9a-f]{16}\.[a-z]+(?:\.gz)?")


class StoreError(Exception):
    """The results store failed (not the source): callers fall back to streaming the result."""


@dataclass(frozen=True)
class ResultMeta:
    """The headers a stored result is served with (S3 object metadata; a sidecar file locally)."""

    content_type: str
    content_disposition: str
    cache_control: str
    content_encoding: str | None = None

    def headers(self) -> dict[str, str]:
        """As HTTP headers (lowercase names), omitting an absent ``content-encoding``."""
        out = {key.replace("_", "-"): value for key, value in asdict(self).items() if value is not None}
        return dict(sorted(out.items()))


class ResultStore(Protocol):
    """Where large results are kept. Every method raises :class:`StoreError` when the store itself fails."""

    def exists(self, name: str) -> bool:
        """Whether the result ``name`` is stored and complete (one HEAD)."""
        ...

    def write(self, name: str, chunks: Iterable[bytes], meta: ResultMeta) -> int:
        """Store ``chunks`` as ``name``, visible only once complete; return its size. An exception from
        ``chunks`` propagates unchanged after the partial write was discarded.
        """
        ...

    def acquire(self, name: str, ttl: float) -> bool:
        """Take the lease on computing ``name`` for ``ttl`` seconds; False while someone else holds it."""
        ...

    def release(self, name: str) -> None:
        """Give the lease back (best effort: an unreleased lease expires)."""
        ...


def result_name(canonical: str, version: str, encoding: str, extension: str) -> str:
    """The object name of one result: ``{cache key digest}-{source version digest}.{ext}[.gz]``.

    >>> result_name("/tree.csv?entity=1", "v1", "gzip", "csv")
    'aabb94ab83df6a9149123bfd8657abf0-e34179766a171138.csv.gz'
    """
    version_digest = hashlib.sha256(f"{RESULT_REVISION}\n{version}".encode()).hexdigest()[:16]
    suffix = ".gz" if encoding == "gzip" else ""
    return f"{cache_key_digest(canonical)}-{version_digest}.{extension}{suffix}"


def is_result_name(name: str) -> bool:
    """True for names :func:`result_name` makes (so a served path can never leave the results folder)."""
    return _NAME.fullmatch(name) is not None


def results_from_url(url: str, *, s3_client: Any | None = None) -> ResultStore:
    """The store for ``RESULTS_URL``: ``s3://bucket/prefix/`` → S3 (boto3), anything else → a local folder."""
    if url.startswith("s3://"):
        from worker.s3results import S3ResultStore  # noqa: PLC0415  # boto3 only where S3 is used

        return S3ResultStore.from_url(url, client=s3_client)
    return LocalResultStore(Path(url))


class LocalResultStore:
    """Results as files in one folder: written to a temporary file, then renamed into place."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, name: str) -> Path:
        if not is_result_name(name):
            raise ValueError(f"not a result name: {name!r}")
        return self.folder / name

    def exists(self, name: str) -> bool:
        """See :class:`ResultStore`."""
        return self._path(name).is_file()

    def write(self, name: str, chunks: Iterable[bytes], meta: ResultMeta) -> int:
        """See :class:`ResultStore`. The sidecar goes in place before the data, so a visible result has headers."""
        path = self._path(name)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"cannot create a result file ({error.strerror})") from error
        size = 0
        try:
            with _replacing(path) as out:
                for chunk in chunks:
                    out.write(chunk)
                    size += len(chunk)
                with _replacing(path.with_name(name + SIDECAR_SUFFIX)) as sidecar:
                    sidecar.write(json.dumps(meta.headers()).encode())
        except OSError as error:
            raise StoreError(f"cannot write a result file ({error.strerror})") from error
        return size

    def acquire(self, name: str, ttl: float) -> bool:
        """See :class:`ResultStore`: ``O_CREAT | O_EXCL`` on ``{name}.lease``; a lease older than ``ttl`` is
        taken over (its writer crashed).
        """
        lease = self._path(name).with_name(name + LEASE_SUFFIX)
        for _ in range(2):
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                os.close(os.open(lease, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            except FileExistsError:
                if not _expired(lease, ttl):
                    return False
                with contextlib.suppress(FileNotFoundError):
                    lease.unlink()
                continue
            except OSError as error:
                raise StoreError(f"cannot take a result lease ({error.strerror})") from error
            return True
        return False

    def release(self, name: str) -> None:
        """See :class:`ResultStore`."""
        with contextlib.suppress(OSError):
            self._path(name).with_name(name + LEASE_SUFFIX).unlink()


def _expired(lease: Path, ttl: float) -> bool:
    try:
        return lease.stat().st_mtime + ttl < time.time()
    except FileNotFoundError:
        return True  # released in the meantime: try again


@contextlib.contextmanager
def _replacing(path: Path) -> Iterator[BinaryIO]:
    """A temporary file beside ``path`` that replaces it once the block ends without an error (readers see the
    old file or the whole new one, never part of it); removed if the block fails."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            yield out
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
