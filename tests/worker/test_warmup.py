"""Tests for worker/warmup.py: the init-time warm-up runs every format's whole path without error."""

from __future__ import annotations

from typing import Any

import pytest

from worker import duckscan
from worker.warmup import warm_up


def test_warm_up_runs_every_format_without_duckdb(monkeypatch: pytest.MonkeyPatch) -> None:
    scans: list[Any] = []

    class Counted(duckscan.Scan):
        def part(self, rows: tuple[int, int] | None) -> Any:
            scans.append(self.plan)
            return super().part(rows)

    monkeypatch.setattr(duckscan, "Scan", Counted)
    assert warm_up() > 1000
    assert scans == []  # its import and first connection keep 50 MB: left to the first download it decodes
