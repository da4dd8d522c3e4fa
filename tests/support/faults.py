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
        read = reader.read

        def breaking_read(size: int = -1, /) -> bytes:
            if reader.bytes_read > self.budget:
                raise SourceChanged("the dataset was replaced while it was being read")
            return read(size)

        setattr(reader, "read", breaking_read)  # noqa: B010  # an instance override, for this fault only
        return reader


class SlowSource(LocalSource):
    """A local source whose reads each take ``delay`` seconds longer."""

    def __init__(self, folder: Path, delay: float) -> None:
        super().__init__(folder)
        self.delay = delay

    def open(self, obj: SourceObject) -> LocalReader:
        reader = super().open(obj)
        read = reader.read

        def slow_read(size: int = -1, /) -> bytes:
            time.sleep(self.delay)
            return read(size)

        setattr(reader, "read", slow_read)  # noqa: B010  # an instance override, for this fault only
        return reader
