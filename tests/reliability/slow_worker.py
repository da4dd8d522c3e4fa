"""The real worker app over a slow local source, for the runtime process in the deadline test.

``python -m worker.runtime tests.reliability.slow_worker:handle`` with ``DATASET_SOURCE`` set: every read of the
dataset file sleeps ``SLOW_READ_SECONDS`` (default 0.15), so a full download cannot finish before a short deadline.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.support.faults import SlowSource
from worker.app import App
from worker.config import WorkerSettings
from worker.response import Response
from worker.tracing import NullTracer
from worker.warmup import warm_up

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
