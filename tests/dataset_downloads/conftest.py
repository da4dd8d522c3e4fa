"""Fixtures for the dataset_downloads tests: the full-size sample datasets, written once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataset_downloads.sample import SAMPLES, write_samples


@pytest.fixture(scope="session")
def full_samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder holding every sample dataset at full size (written once: the tests only read it)."""
    folder = tmp_path_factory.mktemp("samples")
    write_samples(folder, SAMPLES)
    return folder
