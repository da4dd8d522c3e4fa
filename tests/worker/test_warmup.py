"""Tests for worker/warmup.py: the init-time warm-up runs every format's whole path without error, DuckDB's first
query only in the profile that decodes two row groups at once, and faults in the profile's reserve last."""

from __future__ import annotations

from typing import Any

import pytest

from worker import duckscan, memory, scan
from worker.warmup import warm_up


@pytest.fixture(autouse=True)
def reserved(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes warm_up reserves (not touched here: the test process keeps its memory as it is)."""
    sizes: list[int] = []
    monkeypatch.setattr(memory, "reserve", sizes.append)
    monkeypatch.delenv(memory.RESERVE_VARIABLE, raising=False)
    return sizes


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


@pytest.mark.parametrize(("at_once", "setting", "expected_mib"), [(1, None, 128), (2, None, 192), (2, "0", 0)])
def test_warm_up_reserves_the_profiles_heap_last(
    monkeypatch: pytest.MonkeyPatch, reserved: list[int], at_once: int, setting: str | None, expected_mib: int
) -> None:
    monkeypatch.setattr(scan, "ROW_GROUPS_AT_ONCE", at_once)
    if setting is not None:
        monkeypatch.setenv(memory.RESERVE_VARIABLE, setting)
    warm_up(duckdb=False)
    assert reserved == [expected_mib * memory.MIB]


def test_a_bad_reserve_setting_fails_the_warm_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(memory.RESERVE_VARIABLE, "a lot")
    with pytest.raises(ValueError, match="MEMORY_RESERVE_MB"):
        warm_up(duckdb=False)
