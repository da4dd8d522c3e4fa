"""Tests for worker/warmup.py: the init-time warm-up runs every format's whole path without error."""

from __future__ import annotations

from worker.warmup import warm_up


def test_warm_up_runs_every_format() -> None:
    assert warm_up() > 1000
