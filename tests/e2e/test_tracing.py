"""One request through the real worker app with the X-Ray tracer: the segment documents the SDK sends over UDP
(caught by the local daemon on loopback) form one trace with the edge, open, scan, encode and stream
subsegments, the edge's timing from its header, and the annotations a trace is found by.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dataset_downloads.xray_daemon import XRayDaemon
from edge.trace_context import TraceContext, format_trace_context
from worker.app import App
from worker.config import WorkerSettings
from worker.xray import XRayTracer


@pytest.fixture
def daemon() -> Iterator[XRayDaemon]:
    started = XRayDaemon("127.0.0.1", 0, None).start()
    try:
        yield started
    finally:
        started.stop()


def _walk(document: dict[str, Any], depth: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
    yield depth, document
    for child in document.get("subsegments", []):
        yield from _walk(child, depth + 1)


def test_a_download_is_one_trace_with_the_expected_tree(daemon: XRayDaemon, samples: Path) -> None:
    tracer = XRayTracer(daemon.address_string)
    app = App(WorkerSettings(source=str(samples)), tracer=tracer)
    edge = TraceContext("cf-request-1", "eu-west-2", time.time() - 0.05, 0.004, "worker:eu-west-2")
    event = {
        "rawPath": "/title-boundary.csv",
        "rawQueryString": "limit=5000",
        "headers": {
            "x-download-trace": format_trace_context(edge),
            "x-amz-cf-id": "cf-id-123",
            "x-download-cache-key": "/title-boundary.csv?limit=5000",
        },
        "requestContext": {"http": {"method": "GET"}},
    }
    try:
        response = app.handle(event)
        body = b"".join(response.body)
    finally:
        tracer.close()
    trace_id = response.headers["x-download-trace-id"]
    [root] = daemon.store.wait_for(trace_id)
    assert root["trace_id"] == trace_id
    assert root["name"] == "worker"
    nodes = {doc["name"]: (depth, doc) for depth, doc in _walk(root)}
    assert {"edge", "open", "scan", "encode", "stream"} <= set(nodes)
    assert all(depth >= 1 for name, (depth, _) in nodes.items() if name != "worker")
    edge_doc = nodes["edge"][1]
    assert edge_doc["start_time"] == pytest.approx(edge.start, abs=1e-6)
    assert edge_doc["end_time"] == pytest.approx(edge.end, abs=1e-6)
    annotations = root["annotations"]
    assert annotations["dataset"] == "title-boundary"
    assert annotations["format"] == "csv"
    assert annotations["canonical_request"] == "/title-boundary.csv?limit=5000"
    assert annotations["cache_key"] == "/title-boundary.csv?limit=5000"
    assert annotations["cf_request_id"] == "cf-id-123"
    assert annotations["status"] == 200
    assert annotations["rows"] == 5000
    assert annotations["bytes_out"] == len(body)
    assert annotations["row_groups_read"] == 2  # 4,000-row groups: 5,000 rows need two
    assert annotations["row_groups_total"] == 15
    assert annotations["decoder"] == "pyarrow"  # a limit is read by pyarrow, row group after row group
    assert annotations["decoder_threads"] == 0
    assert annotations["bytes_read"] > 0
