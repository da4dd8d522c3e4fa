"""Tests for worker/parallelism.py: how many row groups are decoded at once, from the CPUs and Lambda's memory."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from worker.parallelism import LAMBDA_MB_PER_VCPU, row_groups_at_once


@pytest.mark.parametrize(
    ("environ", "cpus", "expected"),
    [
        pytest.param({}, 1, 1, id="one-cpu"),
        pytest.param({}, 2, 2, id="two-cpus"),
        pytest.param({}, 64, 2, id="many-cpus"),
        pytest.param({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"}, 2, 1, id="lambda-1024"),
        pytest.param({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(2 * LAMBDA_MB_PER_VCPU - 1)}, 2, 1, id="lambda-3537"),
        pytest.param({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(2 * LAMBDA_MB_PER_VCPU)}, 2, 2, id="lambda-3538"),
        pytest.param({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "10240"}, 6, 2, id="lambda-10240"),
        pytest.param({"SCAN_ROW_GROUPS_AT_ONCE": "1"}, 8, 1, id="override-down"),
        pytest.param(
            {"SCAN_ROW_GROUPS_AT_ONCE": "4", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512"}, 2, 4, id="override-up"
        ),
        pytest.param({"SCAN_ROW_GROUPS_AT_ONCE": " "}, 2, 2, id="blank-override"),
    ],
)
def test_row_groups_at_once(environ: dict[str, str], cpus: int, expected: int) -> None:
    assert row_groups_at_once(environ, cpus) == expected


@pytest.mark.parametrize("value", ["0", "9", "-1", "two", "1.5"])
def test_a_bad_override_is_refused_with_its_name(value: str) -> None:
    with pytest.raises(ValueError, match=r"SCAN_ROW_GROUPS_AT_ONCE must be a whole number from 1 to 8"):
        row_groups_at_once({"SCAN_ROW_GROUPS_AT_ONCE": value}, 2)


def _pool_chosen(environ: dict[str, str], code: str = "import worker.scan") -> str:
    """The pool Arrow's C++ code allocates from in a fresh process running ``code`` under ``environ``: pyarrow's
    default pool, which the worker never replaces from Python, so it is the one named when pyarrow loaded."""
    env = {k: v for k, v in os.environ.items() if k not in {"ARROW_DEFAULT_MEMORY_POOL", "SCAN_ROW_GROUPS_AT_ONCE"}}
    probe = f"{code}; import pyarrow as pa; print(pa.default_memory_pool().backend_name)"
    done = subprocess.run([sys.executable, "-c", probe], env=env | environ, capture_output=True, text=True, check=True)
    assert "Unsupported backend" not in done.stderr, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("at_once", ["1", "2"])
def test_the_worker_allocates_from_the_system_allocator_in_either_profile(at_once: str) -> None:
    assert _pool_chosen({"SCAN_ROW_GROUPS_AT_ONCE": at_once}) == "system"


def test_without_the_worker_pyarrow_keeps_its_own_default() -> None:
    # The same probe tells the pools apart: what the worker changes is real, not the probe's own choice.
    baseline = _pool_chosen({}, "import json")
    if baseline == "system":
        pytest.skip("this pyarrow's own default is the system allocator: nothing to tell apart")
    assert _pool_chosen({}, "import worker") == "system"


def test_a_pool_named_in_the_environment_wins() -> None:
    assert _pool_chosen({"SCAN_ROW_GROUPS_AT_ONCE": "2", "ARROW_DEFAULT_MEMORY_POOL": "mimalloc"}) == "mimalloc"


def test_the_scan_and_the_encoders_share_the_process_profile() -> None:
    env = {k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"} | {
        "SCAN_ROW_GROUPS_AT_ONCE": "3"
    }
    code = "import worker.scan as s, worker.encoders.chunking as c; print(s.ROW_GROUPS_AT_ONCE, c.RENDER_AT_ONCE)"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["3", "3"]
