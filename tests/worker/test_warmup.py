"""Tests for worker/warmup.py: the init-time warm-up runs every format's whole path without error."""

from __future__ import annotations

from typing import Any

import pytest

from worker import duckscan
from worker.warmup import warm_up


def test_warm_up_runs_every_format_without_duckdb(monkeypatch: pytest.MonkeyPatch) -> None:
    scans: list[Any] = []
    real = duckscan.scan

    def counted(*args: Any) -> Any:
        scans.append(args)
        return real(*args)

    monkeypatch.setattr(duckscan, "scan", counted)
    assert warm_up() > 1000
    assert scans == []  # its import and first connection keep 50 MB: left to the first download it decodes
