"""Where datasets live: ``{dataset}.parquet`` in an S3 prefix or a local folder, read at one pinned version.

:func:`source_from_url` picks the implementation. ``stat`` decides existence and the version before any byte
of the response is sent; ``open`` returns a random-access reader pinned to that version, which
``pyarrow.parquet.ParquetFile`` reads directly and which counts its reads (for tracing and tests).
"""

from __future__ import annotations

import io
import os
import re
import stat as stat_module
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from edge.errors import quote_input
from worker.errors import DatasetNotFound, SourceChanged, SourceUnavailable

# The request contract validates dataset names already; this is the same rule, checked again because it is
# what keeps a key or a path inside its prefix.
_DATASET = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?")
SUFFIX = ".parquet"


@dataclass(frozen=True)
class SourceObject:
    """One version of one dataset's object, as seen by ``stat``.

    ``version`` identifies the content: the S3 VersionId when the bucket is versioned, else the ETag (without
    quotes); locally ``{inode}-{mtime_ns}-{size}``. ``version_id`` is set only when reads pin by VersionId.
    """

    dataset: str
    size: int
    version: str
    etag: str | None
    last_modified: datetime
    version_id: str | None = None


class ReadableSource(Protocol):
    """A random-access binary reader over one pinned object version (``pq.ParquetFile`` accepts it)."""

    bytes_read: int
    requests: int

    def read(self, size: int = -1, /) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...

    def tell(self) -> int: ...

    def close(self) -> None: ...


class Source(Protocol):
    """A place datasets are read from."""

    def stat(self, dataset: str) -> SourceObject:
        """The current version of ``dataset``; raises DatasetNotFound, SourceUnavailable or SourceBusy."""
        ...

    def open(self, obj: SourceObject) -> ReadableSource:
        """A reader pinned to ``obj``'s version; reads raise SourceChanged once the object has changed."""
        ...


def object_name(dataset: str) -> str:
    """The object name of a dataset: ``"conservation-area"`` → ``"conservation-area.parquet"``.

    Refuses (DatasetNotFound) anything that is not a dataset name, so no key or path can leave its prefix.
    """
    if not _DATASET.fullmatch(dataset):
        raise DatasetNotFound(f"There is no dataset named {quote_input(dataset)}.")
    return f"{dataset}{SUFFIX}"


def source_from_url(url: str, *, s3_client: Any | None = None) -> Source:
    """The source for ``DATASET_SOURCE``: ``s3://bucket/prefix/`` → S3 (boto3), anything else → a local folder.

    ``s3_client`` overrides the boto3 client (tests); otherwise one is built that honours ``AWS_ENDPOINT_URL``.
    """
    if url.startswith("s3://"):
        # Imported here so the local stack and the edge never pay for importing boto3.
        from worker.s3source import S3Source  # noqa: PLC0415

        return S3Source.from_url(url, client=s3_client)
    return LocalSource(Path(url))


class LocalSource:
    """Datasets as files in one folder. Symlinks are followed only while they stay inside the folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, dataset: str) -> Path:
        name = object_name(dataset)
        try:
            root = self.folder.resolve(strict=True)
        except OSError:
            # A missing folder is a misconfigured source, not a missing dataset: 502, never a cached 404.
            raise SourceUnavailable("The dataset folder does not exist.") from None
        try:
            path = (root / name).resolve(strict=True)
        except (FileNotFoundError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
            raise DatasetNotFound(f"There is no dataset named {quote_input(dataset)}.") from None
        except OSError as error:
            raise SourceUnavailable(f"The dataset folder cannot be read ({error.strerror}).") from None
        if not path.is_relative_to(root):
            raise DatasetNotFound(f"There is no dataset named {quote_input(dataset)}.")
        return path

    def stat(self, dataset: str) -> SourceObject:
        """Resolve ``{folder}/{dataset}.parquet`` (refusing paths that escape the folder) and describe it."""
        path = self._path(dataset)
        try:
            info = path.stat()
        except FileNotFoundError:
            raise DatasetNotFound(f"There is no dataset named {quote_input(dataset)}.") from None
        except OSError as error:
            raise SourceUnavailable(f"The dataset cannot be read ({error.strerror}).") from None
        if not stat_module.S_ISREG(info.st_mode):
            raise DatasetNotFound(f"There is no dataset named {quote_input(dataset)}.")
        return SourceObject(
            dataset=dataset,
            size=info.st_size,
            version=_local_version(info),
            etag=None,
            last_modified=datetime.fromtimestamp(info.st_mtime_ns / 1e9, tz=UTC),
        )

    def open(self, obj: SourceObject) -> LocalReader:
        """Open the file and check it is still the version ``stat`` saw (a rename-over is a new version)."""
        path = self._path(obj.dataset)
        try:
            handle = path.open("rb", buffering=0)
        except FileNotFoundError:
            raise SourceChanged(f"Dataset {quote_input(obj.dataset)} was removed while it was being read.") from None
        except OSError as error:
            raise SourceUnavailable(f"The dataset cannot be read ({error.strerror}).") from None
        reader = LocalReader(handle, obj)
        try:
            reader.check()
        except SourceChanged:
            reader.close()
            raise
        return reader


def _local_version(info: os.stat_result) -> str:
    return f"{info.st_ino}-{info.st_mtime_ns}-{info.st_size}"


class RangeReader(io.RawIOBase):
    """Random access to ``size`` bytes by ranges, with a position **per thread** and thread-safe counters.

    pyarrow reads one file from several threads (column chunks, and row groups read at once: worker/scan.py).
    Its positioned reads hold a lock around seek + read, but learning the size (tell, seek to the end, tell,
    seek back) does not, so with one shared position a reader opening on one thread could move another's read
    or see the wrong size. A position per thread keeps every such sequence on its own thread.
    """

    def __init__(self, size: int) -> None:
        super().__init__()
        self._size = size
        self._local = threading.local()
        self._counters = threading.Lock()
        self.bytes_read = 0
        self.requests = 0

    @property
    def size(self) -> int:
        """The object's size in bytes."""
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.tell(), io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._local.position = base + offset
        return base + offset

    def tell(self) -> int:
        position: int = getattr(self._local, "position", 0)
        return position

    def read(self, size: int = -1, /) -> bytes:
        start = self.tell()
        end = self._size if size < 0 else min(self._size, start + size)
        if end <= start:
            return b""
        data = self.read_range(start, end)
        self._local.position = start + len(data)
        return data

    def readinto(self, buffer: Any, /) -> int:
        view = memoryview(buffer)
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def read_range(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)``, counted with :meth:`count`; subclasses implement it."""
        raise NotImplementedError

    def count(self, *, requests: int = 0, bytes_read: int = 0) -> None:
        """Add to the counters (reads come from several threads)."""
        with self._counters:
            self.requests += requests
            self.bytes_read += bytes_read


class LocalReader(RangeReader):
    """A file handle pinned to one version: an in-place change of size or mtime fails the next read."""

    def __init__(self, handle: io.FileIO, obj: SourceObject) -> None:
        super().__init__(obj.size)
        self._handle = handle
        self._obj = obj

    def check(self) -> None:
        """Raise SourceChanged unless the open file is still the version that was stat'ed."""
        try:
            info = os.fstat(self._handle.fileno())
        except OSError as error:
            raise SourceUnavailable(f"The dataset cannot be read ({error.strerror}).") from None
        if _local_version(info) != self._obj.version:
            raise SourceChanged(f"Dataset {quote_input(self._obj.dataset)} changed while it was being read.")

    def read_range(self, start: int, end: int) -> bytes:
        self.check()
        try:
            data = os.pread(self._handle.fileno(), end - start, start)
        except OSError as error:
            raise SourceUnavailable(f"The dataset cannot be read ({error.strerror}).") from None
        self.count(requests=1, bytes_read=len(data))
        return data

    def close(self) -> None:
        self._handle.close()
        super().close()


class BytesReader(RangeReader):
    """Bytes in memory as a pinned reader (the warm-up's sample file)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(len(data))
        self._data = data

    def read_range(self, start: int, end: int) -> bytes:
        self.count(requests=1, bytes_read=end - start)
        return self._data[start:end]
