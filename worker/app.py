"""The worker's HTTP handler: a Lambda Function URL event (payload 2.0) → :class:`~worker.response.Response`.

No sockets and no environment here beyond the settings it is given: transports (the Lambda streaming runtime,
the buffered handler, the local server) send what it returns.
"""

from __future__ import annotations

from typing import Any, Protocol

from worker.config import WorkerSettings
from worker.response import Response


class LambdaContext(Protocol):
    """The parts of Lambda's context object the worker uses (tests pass any object with these)."""

    aws_request_id: str

    def get_remaining_time_in_millis(self) -> int: ...


class App:
    """The worker application, built once per process from its settings."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings

    def handle(self, event: dict[str, Any], context: LambdaContext | None = None) -> Response:
        """Answer one Function URL event (work in progress: the engine lands with issue 3)."""
        raise NotImplementedError


_app: App | None = None


def handle(event: dict[str, Any], context: LambdaContext | None = None) -> Response:
    """The module-level entry point: builds the :class:`App` from the environment on first use."""
    global _app  # noqa: PLW0603  # one App per process, built lazily so importing stays cheap
    if _app is None:
        _app = App(WorkerSettings.from_env())
    return _app.handle(event, context)
