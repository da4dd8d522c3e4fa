"""Fixtures: a fake Runtime API on loopback, and the real runtime process started against it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.worker.runtime.fake_api import FakeRuntimeApi

ROOT = Path(__file__).resolve().parents[3]
DISPATCH = "tests.worker.runtime.handlers:dispatch"
# Variables the runtime reads: never inherited from the machine running the tests.
_SCRUBBED = ("AWS_LAMBDA_RUNTIME_API", "_X_AMZN_TRACE_ID", "DATASET_SOURCE", "RUNTIME_DEADLINE_MARGIN_MS")


@dataclass
class RuntimeProcess:
    """A running ``python -m worker.runtime``; its stderr goes to a file so it can never block on a pipe."""

    process: subprocess.Popen[bytes]
    stderr_path: Path

    def stop(self) -> str:
        """Terminate the process (it waits on ``/next`` forever otherwise) and return its stderr."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.stderr_path.read_text(encoding="utf-8")


StartRuntime = Callable[..., RuntimeProcess]


def runtime_env(address: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment for the runtime process pointing at ``address``."""
    env = {name: value for name, value in os.environ.items() if name not in _SCRUBBED}
    env["AWS_LAMBDA_RUNTIME_API"] = address
    env["PYTHONPATH"] = str(ROOT)
    env["AWS_LAMBDA_FUNCTION_NAME"] = "worker"
    env.update(extra or {})
    return env


@pytest.fixture
def fake_api() -> Iterator[FakeRuntimeApi]:
    api = FakeRuntimeApi()
    api.start()
    yield api
    api.stop()


@pytest.fixture
def start_runtime(fake_api: FakeRuntimeApi, tmp_path: Path) -> Iterator[StartRuntime]:
    """Start the real runtime: ``start_runtime(spec=DISPATCH, env={...}, argv=None)``."""
    started: list[RuntimeProcess] = []

    def start(
        spec: str | None = DISPATCH, env: dict[str, str] | None = None, argv: list[str] | None = None
    ) -> RuntimeProcess:
        stderr_path = tmp_path / f"stderr-{len(started)}.log"
        command = argv or [sys.executable, "-m", "worker.runtime", *([spec] if spec else [])]
        with stderr_path.open("wb") as stderr:
            process = subprocess.Popen(
                command, cwd=ROOT, env=runtime_env(fake_api.address, env), stdout=subprocess.DEVNULL, stderr=stderr
            )
        runtime = RuntimeProcess(process, stderr_path)
        started.append(runtime)
        return runtime

    yield start
    for runtime in started:
        runtime.stop()
