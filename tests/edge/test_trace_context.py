from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.trace_context import TraceContext, format_trace_context, parse_trace_context

REQUEST_ID = "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ=="
CONTEXT = TraceContext(REQUEST_ID, "eu-west-2", 1718000000.25, 0.0005, "worker:eu-west-2")
FIELDS = r"(v=1;)?(id|region|start|dur|decision|v)=[^;]{0,20}(;.*)?"


def test_round_trip() -> None:
    value = format_trace_context(CONTEXT)
    assert value.startswith("v=1;")
    assert parse_trace_context(value) == CONTEXT


def test_unsafe_fields_are_replaced_not_emitted() -> None:
    value = format_trace_context(TraceContext("a;b\r\n", "EU WEST", -1.0, -2.0, "x;y"))
    parsed = parse_trace_context(value)
    assert parsed == TraceContext("-", "unknown", 0.0, 0.0, "unknown")


@given(st.text(max_size=200) | st.from_regex(FIELDS, fullmatch=True))
@settings(max_examples=200, deadline=None)
def test_garbage_parses_to_none_or_a_valid_context(value: str) -> None:
    parsed = parse_trace_context(value)
    assert parsed is None or parse_trace_context(format_trace_context(parsed)) is not None


def test_missing_duplicate_or_other_version_is_none() -> None:
    good = format_trace_context(CONTEXT)
    assert parse_trace_context(good.replace("v=1", "v=2")) is None
    assert parse_trace_context(good + ";dur=1") is None
    assert parse_trace_context(good.rpartition(";")[0]) is None
    assert parse_trace_context(None) is None
