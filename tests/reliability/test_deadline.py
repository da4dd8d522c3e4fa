"""A download that cannot finish before the Lambda deadline: the real runtime process, the real worker app over a
slow source, against the fake Runtime API. The stream ends with the error trailers, never as a complete 200.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.reliability.checks import function_url_event, request_logs
from tests.worker.runtime.conftest import StartRuntime, fake_api, start_runtime  # noqa: F401  # the fixtures
from tests.worker.runtime.fake_api import FakeRuntimeApi

HANDLER = "tests.reliability.slow_worker:handle"
SEPARATOR = b"\x00" * 8


def test_a_download_past_the_deadline_ends_with_error_trailers(
    fake_api: FakeRuntimeApi,  # noqa: F811
    start_runtime: StartRuntime,  # noqa: F811
    samples: Path,
) -> None:
    # 4.5 s before the margin: ample for the first chunk on a loaded machine (the footer and one row group, about
    # 1 s), far too little for fifteen row groups at 0.5 s a read.
    fake_api.add_event(function_url_event("GET", "/title-boundary.csv", "", "identity"), deadline_in_ms=6000)
    fake_api.add_event(function_url_event("GET", "/tree.csv", "limit=2", "identity"))
    env = {"DATASET_SOURCE": str(samples), "RUNTIME_DEADLINE_MARGIN_MS": "1500", "SLOW_READ_SECONDS": "0.5"}
    runtime = start_runtime(spec=HANDLER, env=env)
    stopped, after = fake_api.wait_for(2, timeout=60)
    prelude, _, body = stopped.body.partition(SEPARATOR)
    assert json.loads(prelude)["statusCode"] == 200
    assert body.startswith(b"entity,name,")
    assert body.count(b"\n") < 15_000  # cut short
    assert stopped.trailers["Lambda-Runtime-Function-Error-Type"] == "Runtime.DeadlineApproaching"
    # The runtime survives and serves the next invocation completely.
    next_prelude, _, next_body = after.body.partition(SEPARATOR)
    assert json.loads(next_prelude)["statusCode"] == 200
    assert after.trailers == {}
    assert next_body.startswith(b"entity,name,")
    stderr = runtime.stop()
    failures = [json.loads(line) for line in stderr.splitlines() if '"after-first-byte"' in line]
    assert failures
    assert failures[0]["errorType"] == "DeadlineApproaching"
    requests = request_logs(stderr)
    assert requests[0]["error_code"] in ("stream-aborted", "deadline-exceeded")
