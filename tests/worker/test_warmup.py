"""Tests for worker/warmup.py: the init-time warm-up runs every format's whole path without error, and DuckDB's
first query only in the profile that decodes two row groups at once."""

from __future__ import annotations

from typing import Any

import pytest

from worker import duckscan, scan
from worker.warmup import warm_up


@pytest.fixture
def duckdb_scans(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The plans DuckDB decodes from now on."""
    scans: list[Any] = []

    class Counted(duckscan.Scan):
        def part(self, rows: tuple[int, int] | None) -> Any:
            scans.append(self.plan)
            return super().part(rows)

    monkeypatch.setattr(duckscan, "Scan", Counted)
    return scans


def test_one_at_a_time_warm_up_runs_every_format_without_duckdb(
    monkeypatch: pytest.MonkeyPatch, duckdb_scans: list[Any]
) -> None:
    monkeypatch.setattr(scan, "ROW_GROUPS_AT_ONCE", 1)
    assert warm_up() > 1000
    assert duckdb_scans == []  # its import and first connection keep ~46 MB: left to the first download it decodes


def test_two_at_once_warm_up_also_runs_a_duckdb_query(monkeypatch: pytest.MonkeyPatch, duckdb_scans: list[Any]) -> None:
    monkeypatch.setattr(scan, "ROW_GROUPS_AT_ONCE", 2)
    without = warm_up(duckdb=False)
    assert duckdb_scans == []
    assert warm_up() > without  # the CSV of the two matching rows on top
    assert [plan.stats.decoder for plan in duckdb_scans] == ["duckdb"] * len(duckdb_scans) != []


def test_without_duckdb_installed_warm_up_skips_it(monkeypatch: pytest.MonkeyPatch, duckdb_scans: list[Any]) -> None:
    monkeypatch.setattr(scan, "ROW_GROUPS_AT_ONCE", 2)
    monkeypatch.setattr(duckscan, "available", lambda: False)
    assert warm_up() > 1000
    assert duckdb_scans == []
