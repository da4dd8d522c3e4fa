"""Local sources with a fault injected into their pinned readers, for tests of failures mid-download."""

from __future__ import annotations

import time
from pathlib import Path

from worker.errors import SourceChanged
from worker.source import LocalReader, LocalSource, SourceObject


class BreakingSource(LocalSource):
    """Reports the dataset as replaced (``SourceChanged``) once ``budget`` bytes were read through a reader."""

    def __init__(self, folder: Path, budget: int) -> None:
        super().__init__(folder)
        self.budget = budget

    def open(self, obj: SourceObject) -> LocalReader:
        reader = super().open(obj)
        read_range = reader.read_range

        def breaking_read(start: int, end: int) -> bytes:
            if reader.bytes_read > self.budget:
                raise SourceChanged("the dataset was replaced while it was being read")
            return read_range(start, end)

        # Every read goes through read_range: pyarrow's (RangeReader.read) and DuckDB's (worker/duckscan.py).
        setattr(reader, "read_range", breaking_read)  # noqa: B010  # an instance override, for this fault only
        return reader


class SlowSource(LocalSource):
    """A local source whose reads each take ``delay`` seconds longer."""

    def __init__(self, folder: Path, delay: float) -> None:
        super().__init__(folder)
        self.delay = delay

    def open(self, obj: SourceObject) -> LocalReader:
        reader = super().open(obj)
        read_range = reader.read_range

        def slow_read(start: int, end: int) -> bytes:
            time.sleep(self.delay)
            return read_range(start, end)

        setattr(reader, "read_range", slow_read)  # noqa: B010  # an instance override, for this fault only
        return reader
