"""Composition root: ``python -m worker.runtime [module:function]``.

Reads ``AWS_LAMBDA_RUNTIME_API``, initialises once (imports the handler and builds the app; a failure is
reported to ``/runtime/init/error`` and the process exits non-zero), then serves invocations forever.
Without an argument the handler is ``worker.app:handle`` built eagerly from ``WorkerSettings.from_env()``, so a
configuration error surfaces at init rather than on every request. Tests pass their own ``module:function``.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping
from typing import cast

from worker.runtime.client import ErrorReport, RuntimeApiError, RuntimeClient
from worker.runtime.failure import log_failure
from worker.runtime.loop import DEFAULT_DEADLINE_MARGIN_MS, Handler, run

RUNTIME_API_VARIABLE = "AWS_LAMBDA_RUNTIME_API"
# Ours, not Lambda's: how long before the deadline streaming stops (see docs/runtime.md).
DEADLINE_MARGIN_VARIABLE = "RUNTIME_DEADLINE_MARGIN_MS"
DEFAULT_HANDLER = "worker.app:handle"


class HandlerNotFound(Exception):
    """The ``module:function`` spec is malformed or names nothing callable."""


def load_handler(spec: str) -> Handler:
    """Import ``module:function`` and return the callable.

    Example: ``load_handler("tests.worker.runtime.handlers:ok")`` returns that module's ``ok``.
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise HandlerNotFound(f"handler must be module:function, got {spec!r}")
    module = importlib.import_module(module_name)
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise HandlerNotFound(f"{module_name} has no callable {attribute!r}")
    return cast(Handler, handler)


def build_default_handler() -> Handler:
    """The worker app's handler, built now so settings errors are init errors, and warmed up: pyarrow's first
    scan and each encoder's first use cost about 0.4 s that would otherwise land on the first request.
    """
    from worker.app import App  # noqa: PLC0415  # imported at init, inside the error reporting
    from worker.config import WorkerSettings  # noqa: PLC0415
    from worker.warmup import warm_up  # noqa: PLC0415

    handler = App(WorkerSettings.from_env()).handle
    warm_up()
    return handler


def deadline_margin(environ: Mapping[str, str]) -> int:
    """The deadline margin in milliseconds (``RUNTIME_DEADLINE_MARGIN_MS``, default 1500)."""
    raw = environ.get(DEADLINE_MARGIN_VARIABLE, "")
    margin = int(raw) if raw else DEFAULT_DEADLINE_MARGIN_MS
    if margin < 0:
        raise ValueError(f"{DEADLINE_MARGIN_VARIABLE} must be >= 0, got {margin}")
    return margin


def init_error_type(error: Exception) -> str:
    """Lambda-style error types for init failures (the names the managed Python runtime uses)."""
    if isinstance(error, ImportError):
        return "Runtime.ImportModuleError"
    if isinstance(error, HandlerNotFound):
        return "Runtime.HandlerNotFound"
    return "Runtime.InitError"


def main(argv: list[str] | None = None) -> int:
    """Run the runtime; returns the process exit status (non-zero: init failed or the Runtime API went away)."""
    args = sys.argv[1:] if argv is None else argv
    address = os.environ.get(RUNTIME_API_VARIABLE, "")
    if not address:
        sys.stderr.write(f"{RUNTIME_API_VARIABLE} is not set: this program runs inside Lambda (docs/runtime.md)\n")
        return 2
    client = RuntimeClient(address)
    try:
        handler = load_handler(args[0]) if args else build_default_handler()
        margin_ms = deadline_margin(os.environ)
    except Exception as error:
        log_failure("init", "", error)
        report = ErrorReport(init_error_type(error), f"{type(error).__name__}: {error}")
        client.post_init_error(report)
        return 1
    try:
        run(client, handler, margin_ms)
    except (OSError, RuntimeApiError) as error:
        log_failure("next", "", error)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
