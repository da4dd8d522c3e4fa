"""Tests for worker/parallelism.py: how many row groups are decoded at once, from the CPUs and Lambda's memory."""

from __future__ import annotations

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
