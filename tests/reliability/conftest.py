"""Fixtures for the reliability suites: small sample datasets, the worker app over them, and the moto S3 server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dataset_downloads.sample import SAMPLES, scaled, write_samples
from tests.support.s3 import moto_s3, moto_server  # noqa: F401  # the S3 fixtures, for this directory
from worker.app import App
from worker.config import WorkerSettings
from worker.tracing import NullTracer

# A twentieth of the samples: title-boundary keeps 15 row groups of 1,000 rows, tree 4 of 125.
FACTOR = 0.05


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scaled sample datasets, written once per session (never modified: tests copy what they break)."""
    folder = tmp_path_factory.mktemp("reliability-samples")
    write_samples(folder, scaled(SAMPLES, FACTOR))
    return folder


@pytest.fixture(scope="session")
def app(samples: Path) -> Iterator[App]:
    """The real worker app over the local samples, without a tracer daemon."""
    worker = App(WorkerSettings(source=str(samples)), tracer=NullTracer())
    yield worker
    worker.tracer.close()
