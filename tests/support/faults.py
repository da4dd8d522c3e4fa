"""Local sources with a fault injected into their pinned readers, for tests of failures mid-download."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from worker.errors import SourceChanged
from worker.source import LocalReader, LocalSource, SourceObject


class FaultySource(LocalSource):
    """A local source whose readers call :meth:`fault` before each read. Every read goes through ``read_range``:
    pyarrow's (``RangeReader.read``) and DuckDB's (worker/duckscan.py)."""

    def fault(self, reader: LocalReader) -> None:
        """Raise or delay before a read of ``reader``; subclasses say which."""

    def open(self, obj: SourceObject) -> LocalReader:
        reader = super().open(obj)
        read_range = reader.read_range

        def faulty_read(start: int, end: int) -> bytes:
            self.fault(reader)
            return read_range(start, end)

        setattr(reader, "read_range", faulty_read)  # noqa: B010  # an instance override, for this fault only
        return reader


def _replaced() -> Exception:
    return SourceChanged("the dataset was replaced while it was being read")


class BreakingSource(FaultySource):
    """Fails reads with ``error()`` (the dataset reported replaced, ``SourceChanged``, by default) once ``budget``
    bytes were read through a reader."""

    def __init__(self, folder: Path, budget: int, error: Callable[[], Exception] = _replaced) -> None:
        super().__init__(folder)
        self.budget = budget
        self.error = error

    def fault(self, reader: LocalReader) -> None:
        if reader.bytes_read > self.budget:
            raise self.error()


class SlowSource(FaultySource):
    """A local source whose reads each take ``delay`` seconds longer."""

    def __init__(self, folder: Path, delay: float) -> None:
        super().__init__(folder)
        self.delay = delay

    def fault(self, reader: LocalReader) -> None:
        time.sleep(self.delay)
