"""The real worker app over a slow local source, for the runtime process in the deadline test.

``python -m worker.runtime tests.reliability.slow_worker:handle`` with ``DATASET_SOURCE`` set: every read of the
dataset file sleeps ``SLOW_READ_SECONDS`` (default 0.15), so a full download cannot finish before a short deadline.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from worker.app import App
from worker.config import WorkerSettings
from worker.response import Response
from worker.source import LocalReader, LocalSource, SourceObject
from worker.tracing import NullTracer
from worker.warmup import warm_up


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


_settings = WorkerSettings.from_env()
_app = App(
    _settings,
    source=SlowSource(Path(_settings.source), float(os.environ.get("SLOW_READ_SECONDS", "0.15"))),
    tracer=NullTracer(),
)
warm_up()  # as the runtime does for the default app: pyarrow's first-use cost must not eat the deadline


def handle(event: dict[str, Any], context: Any) -> Response:
    """The runtime's handler: the slow app's ``handle``."""
    return _app.handle(event, context)
