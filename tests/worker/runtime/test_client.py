"""Wire-format pieces of the Runtime API transport (the full exchange runs in test_loop.py)."""

from __future__ import annotations

import json

import pytest

from worker.runtime.client import ErrorReport, RuntimeClient, encode_prelude


def test_the_prelude_is_json_then_eight_nul_bytes() -> None:
    encoded = encode_prelude(404, {"content-type": "application/problem+json", "x-odd": "a\x00b"})
    prelude, delimiter, rest = encoded.partition(b"\x00" * 8)
    assert (delimiter, rest) == (b"\x00" * 8, b"")
    assert json.loads(prelude) == {
        "statusCode": 404,
        "headers": {"content-type": "application/problem+json", "x-odd": "a\x00b"},
        "cookies": [],
    }


@pytest.mark.parametrize(
    ("error_type", "header"),
    [
        pytest.param("ValueError", "ValueError", id="plain"),
        pytest.param("Bad\r\nX-Injected: 1", "Bad__X-Injected:_1", id="no-header-injection"),
        pytest.param("", "Unhandled", id="empty"),
    ],
)
def test_error_types_are_safe_header_values(error_type: str, header: str) -> None:
    assert ErrorReport(error_type, "m").header_type() == header


def test_error_report_is_the_documented_document() -> None:
    report = ErrorReport("Runtime.X", "boom", ("line 1",))
    assert json.loads(report.to_json()) == {"errorMessage": "boom", "errorType": "Runtime.X", "stackTrace": ["line 1"]}


@pytest.mark.parametrize("address", [pytest.param("localhost", id="no-port"), pytest.param(":9001", id="no-host")])
def test_the_runtime_api_address_must_be_host_and_port(address: str) -> None:
    with pytest.raises(ValueError, match="host:port"):
        RuntimeClient(address)
