"""The handler's context: remaining time from the deadline, fields from the invocation and environment."""

from __future__ import annotations

import pytest

from worker.runtime.client import Invocation
from worker.runtime.context import InvocationContext

INVOCATION = Invocation("req-1", 10_000, "arn:aws:lambda:eu-west-2:1:function:worker", None, b"{}")


@pytest.mark.parametrize(
    ("now", "remaining"),
    [
        pytest.param(8.5, 1500, id="before"),
        pytest.param(10.0, 0, id="at-deadline"),
        pytest.param(12.0, 0, id="never-negative"),
    ],
)
def test_remaining_time_counts_down_to_the_deadline(now: float, remaining: int) -> None:
    context = InvocationContext("req-1", "arn", 10_000, clock=lambda: now)
    assert context.get_remaining_time_in_millis() == remaining


def test_from_invocation_reads_lambda_reserved_variables() -> None:
    env = {"AWS_LAMBDA_FUNCTION_NAME": "worker", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"}
    context = InvocationContext.from_invocation(INVOCATION, env)
    assert (context.aws_request_id, context.deadline_ms) == ("req-1", 10_000)
    assert context.invoked_function_arn == INVOCATION.invoked_function_arn
    assert (context.function_name, context.memory_limit_in_mb, context.function_version) == ("worker", "1024", "")
