"""Start-up: handler loading, init errors reported to the Runtime API, and the exec wrapper."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.worker.runtime.conftest import ROOT, StartRuntime
from tests.worker.runtime.fake_api import FakeRuntimeApi
from worker.runtime.__main__ import HandlerNotFound, deadline_margin, load_handler, main
from worker.runtime.loop import DEFAULT_DEADLINE_MARGIN_MS

EXEC_WRAPPER = ROOT / "worker" / "runtime" / "exec-wrapper"


@pytest.mark.parametrize(
    ("spec", "env", "error_type", "message_part"),
    [
        pytest.param("tests.worker.runtime.handlers:missing", {}, "Runtime.HandlerNotFound", "missing", id="attr"),
        pytest.param("no_such_module_for_tests:handle", {}, "Runtime.ImportModuleError", "no_such", id="module"),
        pytest.param("not-a-spec", {}, "Runtime.HandlerNotFound", "module:function", id="malformed"),
        pytest.param(
            "tests.worker.runtime.handlers:ok",
            {"RUNTIME_DEADLINE_MARGIN_MS": "soon"},
            "Runtime.InitError",
            "invalid literal",
            id="bad-margin",
        ),
    ],
)
def test_an_init_failure_is_reported_and_the_process_exits(
    fake_api: FakeRuntimeApi,
    start_runtime: StartRuntime,
    *,
    spec: str | None,
    env: dict[str, str],
    error_type: str,
    message_part: str,
) -> None:
    runtime = start_runtime(spec=spec, env=env)
    assert runtime.process.wait(timeout=15) == 1
    [record] = fake_api.wait_for(1)
    assert record.kind == "init-error"
    assert record.headers["lambda-runtime-function-error-type"] == error_type
    document = json.loads(record.body)
    assert set(document) == {"errorMessage", "errorType", "stackTrace"}
    assert document["errorType"] == error_type
    assert message_part in document["errorMessage"]
    assert fake_api.next_calls == 0, "no invocation may be fetched after a failed init"
    [line] = [json.loads(line) for line in runtime.stop().splitlines() if line.startswith("{")]
    assert line["event"] == "init-failed"


@pytest.mark.parametrize("through_wrapper", [pytest.param(False, id="module"), pytest.param(True, id="exec-wrapper")])
def test_the_default_app_is_built_at_init(
    fake_api: FakeRuntimeApi, start_runtime: StartRuntime, through_wrapper: bool
) -> None:
    """Without a spec the worker app is built at init: missing settings are an init error, not a request error.

    Through the exec wrapper, the managed runtime's command line (``$@``) must be ignored: our loop answers.
    """
    argv = None
    env: dict[str, str] = {}
    if through_wrapper:
        assert os.access(EXEC_WRAPPER, os.X_OK)
        argv = [str(EXEC_WRAPPER), "/var/lang/bin/python3.12", "/var/runtime/bootstrap.py"]
        env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "LAMBDA_TASK_ROOT": str(ROOT)}
    runtime = start_runtime(spec=None, env=env, argv=argv)
    assert runtime.process.wait(timeout=15) == 1
    [record] = fake_api.wait_for(1)
    assert record.kind == "init-error"
    error_type = record.headers["lambda-runtime-function-error-type"]
    message = json.loads(record.body)["errorMessage"]
    assert error_type == "Runtime.InitError"
    assert "DATASET_SOURCE" in message


def test_load_handler_returns_the_named_callable() -> None:
    from tests.worker.runtime import handlers

    assert load_handler("tests.worker.runtime.handlers:ok") is handlers.ok
    with pytest.raises(HandlerNotFound):
        load_handler("tests.worker.runtime.handlers:SECRET")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param({}, DEFAULT_DEADLINE_MARGIN_MS, id="default"),
        pytest.param({"RUNTIME_DEADLINE_MARGIN_MS": ""}, DEFAULT_DEADLINE_MARGIN_MS, id="empty-is-default"),
        pytest.param({"RUNTIME_DEADLINE_MARGIN_MS": "250"}, 250, id="set"),
    ],
)
def test_deadline_margin(env: dict[str, str], expected: int) -> None:
    assert deadline_margin(env) == expected


def test_main_refuses_to_run_outside_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_LAMBDA_RUNTIME_API", raising=False)
    assert main([]) == 2
