"""The context object handed to the handler: Lambda's documented fields, built from one invocation."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from worker.runtime.client import Invocation


@dataclass
class InvocationContext:
    """What a Python Lambda handler's ``context`` offers (the parts a streaming worker can honour).

    Not frozen: ``worker.app.LambdaContext`` declares ``aws_request_id`` as a plain attribute.
    """

    aws_request_id: str
    invoked_function_arn: str
    deadline_ms: int
    function_name: str = ""
    function_version: str = ""
    memory_limit_in_mb: str = ""
    log_group_name: str = ""
    log_stream_name: str = ""
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until Lambda stops the invocation (never negative).

        Example: with ``deadline_ms=10_000`` and a clock at 8.5 s this returns ``1500``.
        """
        return max(0, self.deadline_ms - int(self.clock() * 1000))

    @classmethod
    def from_invocation(cls, invocation: Invocation, environ: Mapping[str, str] | None = None) -> InvocationContext:
        """The context of ``invocation``; function-level fields come from Lambda's reserved variables."""
        env = os.environ if environ is None else environ
        return cls(
            aws_request_id=invocation.request_id,
            invoked_function_arn=invocation.invoked_function_arn,
            deadline_ms=invocation.deadline_ms,
            function_name=env.get("AWS_LAMBDA_FUNCTION_NAME", ""),
            function_version=env.get("AWS_LAMBDA_FUNCTION_VERSION", ""),
            memory_limit_in_mb=env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", ""),
            log_group_name=env.get("AWS_LAMBDA_LOG_GROUP_NAME", ""),
            log_stream_name=env.get("AWS_LAMBDA_LOG_STREAM_NAME", ""),
        )
