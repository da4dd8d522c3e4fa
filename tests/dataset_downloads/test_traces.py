"""dataset_downloads/traces.py: list and waterfall from stored segment documents (handmade and really sent)."""

from __future__ import annotations

import io
import json
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from dataset_downloads.traces import assemble, main
from dataset_downloads.xray_daemon import SEGMENTS_FILE, XRayDaemon
from worker.traced_body import traced_body
from worker.xray import XRayTracer

TRACE = "1-66670000-000000000000000000000001"
OTHER = "1-66670100-000000000000000000000002"
T0 = 1718026240.0  # 2024-06-10T13:30:40Z

SEGMENT: dict[str, Any] = {
    "trace_id": TRACE,
    "id": "a000000000000001",
    "name": "worker",
    "start_time": T0,
    "end_time": T0 + 0.120,
    "annotations": {"dataset": "tree", "status": 200},
    "subsegments": [
        {"id": "a000000000000003", "name": "open", "start_time": T0 + 0.001, "end_time": T0 + 0.011},
        {
            "id": "a000000000000002",
            "name": "edge",
            "start_time": T0 - 0.010,
            "end_time": T0 - 0.006,
            "annotations": {"edge_region": "eu-west-2"},
        },
    ],
}
# Sent on its own (a streamed subsegment), first in progress, then finished: the finished one wins.
STREAM_OPEN = {
    "trace_id": TRACE,
    "id": "a000000000000004",
    "parent_id": "a000000000000001",
    "type": "subsegment",
    "name": "stream",
    "start_time": T0 + 0.012,
    "in_progress": True,
}
STREAM_DONE = {**STREAM_OPEN, "in_progress": False, "end_time": T0 + 0.119, "fault": True}
OTHER_SEGMENT = {
    "trace_id": OTHER,
    "id": "b000000000000001",
    "name": "worker",
    "start_time": T0 + 60,
    "end_time": T0 + 60.5,
}

WATERFALL = f"""\
trace {TRACE}  started 2024-06-10T13:30:39.990Z  130.0 ms

name                           start ms     dur ms  timeline                            annotations
worker                             10.0      120.0  |  ==============================|  dataset=tree status=200
  edge                              0.0        4.0  |=                               |  edge_region=eu-west-2
  open                             11.0       10.0  |  ===                           |
  stream                           22.0      107.0  |     ========================== |  !fault
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    lines = [SEGMENT, STREAM_OPEN, STREAM_DONE, OTHER_SEGMENT]
    (tmp_path / SEGMENTS_FILE).write_text("".join(json.dumps(doc) + "\n" for doc in lines) + "not json\n")
    return tmp_path


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out, err)
    return code, out.getvalue(), err.getvalue()


def test_waterfall_nests_orders_and_times(folder: Path) -> None:
    assert run([TRACE, "--dir", str(folder)]) == (0, WATERFALL, "")


def test_list_shows_recent_traces_first(folder: Path) -> None:
    code, out, _ = run(["--dir", str(folder)])
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["trace", "id", "started", "dur", "ms", "name", "summary"]
    assert lines[1].split()[0] == OTHER
    assert lines[2].split() == [TRACE, "2024-06-10T13:30:39.990Z", "130.0", "worker", "status=200", "dataset=tree"]


def test_list_limit(folder: Path) -> None:
    assert len(run(["--dir", str(folder), "--limit", "1"])[1].splitlines()) == 2


def test_unknown_trace_is_an_error(folder: Path) -> None:
    code, out, err = run(["1-00000000-000000000000000000000000", "--dir", str(folder)])
    assert (code, out) == (1, "")
    assert "not found" in err


def test_no_traces_says_where_it_looked(tmp_path: Path) -> None:
    code, _, err = run(["--dir", str(tmp_path)])
    assert code == 0
    assert str(tmp_path) in err


def test_bad_arguments() -> None:
    assert run(["--limit", "many"])[0] == 2


def test_assemble_links_independent_subsegments() -> None:
    [root] = assemble([SEGMENT, STREAM_OPEN, STREAM_DONE])[TRACE]
    assert [child.name for child in root.children] == ["edge", "open", "stream"]
    assert root.children[2].flags == ("fault",)


def test_waterfall_of_a_request_really_traced(tmp_path: Path) -> None:
    daemon = XRayDaemon("127.0.0.1", 0, tmp_path).start()
    try:
        with closing(XRayTracer(daemon.address_string)) as tracer:
            with tracer.request(name="worker") as trace:
                trace.annotate("dataset", "tree")
                trace.record_subsegment("edge", 1718000000.0, 1718000000.004)
                with trace.subsegment("open"):
                    pass
                body = traced_body(trace, iter([b"a", b"b"]))
            assert list(body) == [b"a", b"b"]
            daemon.store.wait_for(trace.trace_id)
    finally:
        daemon.stop()
    code, out, _ = run([trace.trace_id, "--dir", str(tmp_path)])
    names = [line.split()[0] for line in out.splitlines()[3:]]
    assert code == 0
    assert names == ["worker", "edge", "open", "stream"]
    assert "dataset=tree" in out
    assert "bytes_out=2" in out
