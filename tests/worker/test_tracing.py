"""worker/tracing.py and worker/traced_body.py: the real segment documents the tracer sends, caught on loopback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from dataset_downloads.xray_daemon import XRayDaemon
from worker.errors import SourceChanged
from worker.traced_body import StreamAborted, traced_body, traced_iter
from worker.tracing import NullTracer, RequestTrace, Tracer, make_tracer, new_trace_id, record_edge
from worker.xray import XRayTracer

TRACE_ID = re.compile(r"1-[0-9a-f]{8}-[0-9a-f]{24}")
LAMBDA_ROOT = "1-5759e988-bd862e3fe1be46a994272793"
LAMBDA_PARENT = "53995c3f42cd8ad8"
EDGE_START = 1718000000.25
EDGE_HEADER = "v=1;id=cfid==;region=eu-west-2;start=1718000000.250000;dur=0.004000;decision=worker:eu-west-2"


@pytest.fixture
def daemon() -> Iterator[XRayDaemon]:
    running = XRayDaemon("127.0.0.1", 0).start()
    yield running
    running.stop()


@pytest.fixture
def tracer(daemon: XRayDaemon) -> Iterator[XRayTracer]:
    with closing(XRayTracer(daemon.address_string)) as opened:
        yield opened


def one_document(daemon: XRayDaemon, trace_id: str) -> dict[str, Any]:
    documents = daemon.store.wait_for(trace_id)
    assert len(documents) == 1, documents
    return documents[0]


def children(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {child["name"]: child for child in document.get("subsegments", [])}


def serve(tracer: Tracer, trace_header: str | None = None, fail_after: int | None = None) -> tuple[RequestTrace, Any]:
    """What the worker handler does: annotate, edge, open, then a lazy scan → encode → stream body."""
    summaries: list[Mapping[str, object]] = []

    def batches() -> Iterator[int]:
        for index in range(3):
            if fail_after is not None and index == fail_after:
                raise SourceChanged("the source changed")
            yield index

    with tracer.request(name="worker", trace_header=trace_header, on_end=summaries.append) as trace:
        trace.annotate("dataset", "conservation-area")
        trace.annotate("format", "csv")
        trace.annotate("canonical_request", "/conservation-area.csv?entity=1")
        trace.annotate("cache_key", "/conservation-area.csv?entity=1")
        trace.annotate("cf_request_id", "cfid==")
        record_edge(trace, EDGE_HEADER)
        with trace.subsegment("open") as span:
            span.annotate("row_groups_total", 4)
        trace.annotate("status", 200)
        scanned = traced_iter(trace, "scan", batches())
        encoded = traced_iter(trace, "encode", (b"row%d\n" % index for index in scanned))
        body = traced_body(trace, encoded)
    return trace, (body, summaries)


def test_segment_tree_annotations_and_edge_timing(daemon: XRayDaemon, tracer: XRayTracer) -> None:
    trace, (body, summaries) = serve(tracer)
    assert b"".join(body) == b"row0\nrow1\nrow2\n"
    document = one_document(daemon, trace.trace_id)
    assert TRACE_ID.fullmatch(trace.trace_id)
    assert document["name"] == "worker"
    assert "type" not in document
    assert "parent_id" not in document
    assert not document.get("fault")
    assert document["annotations"] == {
        "dataset": "conservation-area",
        "format": "csv",
        "canonical_request": "/conservation-area.csv?entity=1",
        "cache_key": "/conservation-area.csv?entity=1",
        "cf_request_id": "cfid==",
        "status": 200,
        "bytes_out": 15,
    }
    subsegments = children(document)
    assert sorted(subsegments) == ["edge", "encode", "open", "scan", "stream"]
    for name, child in subsegments.items():
        assert child["parent_id"] == document["id"]
        assert child["trace_id"] == trace.trace_id
        if name != "edge":  # the edge ran before the worker, in another region
            assert document["start_time"] <= child["start_time"] <= child["end_time"] <= document["end_time"]
    edge = subsegments["edge"]
    assert (edge["start_time"], edge["end_time"]) == (EDGE_START, EDGE_START + 0.004)
    assert edge["annotations"] == {
        "edge_request_id": "cfid==",
        "edge_region": "eu-west-2",
        "decision": "worker:eu-west-2",
    }
    assert subsegments["open"]["annotations"] == {"row_groups_total": 4}
    assert subsegments["scan"]["annotations"]["scan_items"] == 3
    assert subsegments["encode"]["annotations"]["encode_items"] == 3
    [summary] = summaries
    assert summary["trace_id"] == trace.trace_id
    assert summary["bytes_out"] == 15
    assert "error" not in summary
    assert isinstance(summary["ttfb_ms"], float)
    assert isinstance(summary["duration_ms"], float)
    assert 0 <= summary["ttfb_ms"] <= summary["duration_ms"]


def test_an_error_midstream_is_a_fault_on_the_stream_and_the_request(daemon: XRayDaemon, tracer: XRayTracer) -> None:
    trace, (body, summaries) = serve(tracer, fail_after=2)
    chunks = iter(body)
    assert [next(chunks), next(chunks)] == [b"row0\n", b"row1\n"]
    with pytest.raises(SourceChanged):
        next(chunks)
    document = one_document(daemon, trace.trace_id)
    assert document["fault"] is True
    assert document["annotations"]["error_code"] == "source-changed"
    assert document["annotations"]["bytes_out"] == 10
    subsegments = children(document)
    assert subsegments["stream"]["fault"] is True
    assert subsegments["scan"]["fault"] is True
    assert summaries[0]["error"] == "SourceChanged"


@pytest.mark.parametrize("read", [pytest.param(0, id="never-read"), pytest.param(1, id="read-one-chunk")])
def test_closing_the_body_early_ends_the_trace_as_aborted(daemon: XRayDaemon, tracer: XRayTracer, read: int) -> None:
    trace, (body, summaries) = serve(tracer)
    for _ in range(read):
        next(body)
    body.close()
    body.close()
    document = one_document(daemon, trace.trace_id)
    assert document["fault"] is True
    assert document["annotations"]["error_code"] == StreamAborted.code
    assert all(not child.get("in_progress") for child in document["subsegments"])
    assert len(summaries) == 1


def test_an_exception_in_the_handler_ends_the_trace(daemon: XRayDaemon, tracer: XRayTracer) -> None:
    with pytest.raises(SourceChanged), tracer.request(name="worker") as trace, trace.subsegment("open"):
        raise SourceChanged("gone")
    document = one_document(daemon, trace.trace_id)
    assert document["fault"] is True
    assert children(document)["open"]["fault"] is True


def test_a_given_trace_header_is_continued(daemon: XRayDaemon, tracer: XRayTracer) -> None:
    header = f"Root={LAMBDA_ROOT};Parent={LAMBDA_PARENT};Sampled=1"
    with tracer.request(name="worker", trace_header=header) as trace:
        trace.annotate("status", 404)
    document = one_document(daemon, LAMBDA_ROOT)
    assert trace.trace_id == LAMBDA_ROOT
    assert document["parent_id"] == LAMBDA_PARENT
    assert document["error"] is True


def test_an_unsampled_header_sends_nothing_but_keeps_the_id(daemon: XRayDaemon, tracer: XRayTracer) -> None:
    with tracer.request(name="worker", trace_header=f"Root={LAMBDA_ROOT};Sampled=0") as unsampled:
        unsampled.annotate("status", 200)
    with tracer.request(name="worker") as sentinel:
        pass
    one_document(daemon, sentinel.trace_id)  # sent after the unsampled one, on the same socket
    assert unsampled.trace_id == LAMBDA_ROOT
    assert daemon.store.trace_ids() == [sentinel.trace_id]


def test_lambda_mode_nests_under_lambdas_segment(daemon: XRayDaemon, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "dataset-downloads-worker")
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", daemon.address_string)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={LAMBDA_ROOT};Parent={LAMBDA_PARENT};Sampled=1")
    tracer = make_tracer()
    assert isinstance(tracer, XRayTracer)
    assert tracer.lambda_mode
    trace, (body, _) = serve(tracer, trace_header=os.environ["_X_AMZN_TRACE_ID"])
    list(body)
    tracer.close()
    document = one_document(daemon, LAMBDA_ROOT)
    assert trace.trace_id == LAMBDA_ROOT
    assert document["type"] == "subsegment"
    assert document["name"] == "worker"
    assert document["parent_id"] == LAMBDA_PARENT
    assert document["trace_id"] == LAMBDA_ROOT
    assert document["annotations"]["dataset"] == "conservation-area"
    assert sorted(children(document)) == ["edge", "encode", "open", "scan", "stream"]


def test_lambda_mode_without_a_sampled_header_sends_nothing(daemon: XRayDaemon, tracer: XRayTracer) -> None:
    with closing(XRayTracer(daemon.address_string, lambda_mode=True)) as in_lambda:
        header = f"Root={LAMBDA_ROOT};Parent={LAMBDA_PARENT};Sampled=0"
        with in_lambda.request(name="worker", trace_header=header) as trace:
            trace.annotate("status", 200)
    with tracer.request(name="sentinel") as sentinel:
        pass
    one_document(daemon, sentinel.trace_id)
    assert trace.trace_id == LAMBDA_ROOT
    assert daemon.store.trace_ids() == [sentinel.trace_id]


@pytest.mark.parametrize(
    "environ",
    [
        pytest.param({}, id="no-daemon"),
        pytest.param({"AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000", "AWS_XRAY_SDK_ENABLED": "false"}, id="disabled"),
        pytest.param({"AWS_XRAY_DAEMON_ADDRESS": "not an address"}, id="bad-address"),
    ],
)
def test_null_tracer_still_issues_trace_ids(environ: dict[str, str]) -> None:
    tracer = make_tracer(environ)
    assert isinstance(tracer, NullTracer)
    trace, (body, summaries) = serve(tracer)
    assert b"".join(body) == b"row0\nrow1\nrow2\n"
    assert TRACE_ID.fullmatch(trace.trace_id)
    assert summaries[0]["dataset"] == "conservation-area"
    assert summaries[0]["bytes_out"] == 15


# In a fresh process: whether serving a request without a daemon imports the SDK (it builds a global recorder with
# a botocore X-Ray client on import: ~20 MB and ~0.1 s outside Lambda), and whether configuring one does.
_IMPORTS_SDK = """
import sys
from worker.app import App
from worker.config import WorkerSettings
tracer = App(WorkerSettings(source=sys.argv[1])).tracer
with tracer.request(name="worker") as trace:
    trace.annotate("status", 200)
print(type(tracer).__name__, "aws_xray_sdk" in sys.modules)
"""


@pytest.mark.parametrize(
    ("daemon_address", "expected"),
    [pytest.param("", "NullTracer False", id="no-daemon"), pytest.param("127.0.0.1:9", "XRayTracer True", id="daemon")],
)
def test_the_sdk_is_imported_only_when_tracing(tmp_path: Path, daemon_address: str, expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_XRAY_", "AWS_LAMBDA_"))}
    env["AWS_XRAY_DAEMON_ADDRESS"] = daemon_address
    command = [sys.executable, "-c", _IMPORTS_SDK, str(tmp_path)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True, cwd=Path(__file__).parents[2])
    assert done.stdout.strip() == expected


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Root=1-zz;Parent=x\r\nSet-Cookie: a;Sampled=1", id="forged"),
        pytest.param("garbage", id="garbage"),
        pytest.param("", id="empty"),
    ],
)
def test_a_malformed_trace_header_gets_a_fresh_id(daemon: XRayDaemon, tracer: XRayTracer, header: str) -> None:
    with tracer.request(name="worker", trace_header=header) as trace:
        pass
    assert TRACE_ID.fullmatch(trace.trace_id)
    assert "parent_id" not in one_document(daemon, trace.trace_id)


def test_tracing_never_raises_into_the_request(daemon: XRayDaemon, tracer: XRayTracer) -> None:
    with tracer.request(name="worker") as trace:
        trace.annotate("not a key!", "dropped")
        trace.annotate("rows", [1, 2])  # type: ignore[arg-type]
        trace.annotate("canonical_request", "x" * 5000)
    trace.end()
    trace.annotate("late", 1)
    with trace.subsegment("after-end") as span:
        span.annotate("still", "fine")
    trace.record_subsegment("late", 1.0, 2.0)
    document = one_document(daemon, trace.trace_id)
    assert document["annotations"] == {"canonical_request": "x" * 1000}
    assert "subsegments" not in document


def test_unreachable_daemon_is_silent() -> None:
    with closing(XRayTracer("127.0.0.1:9")) as tracer, tracer.request(name="worker") as trace:  # nobody listens
        trace.annotate("status", 200)
    with tracer.request(name="after-close") as closed:  # a closed socket: the send fails, quietly
        closed.annotate("status", 200)
    assert TRACE_ID.fullmatch(trace.trace_id)


def test_a_body_may_be_read_on_another_thread(daemon: XRayDaemon, tracer: XRayTracer) -> None:
    results: dict[str, tuple[RequestTrace, bytes]] = {}

    def request(key: str) -> None:
        trace, (body, _) = serve(tracer)
        reader = threading.Thread(target=lambda: results.__setitem__(key, (trace, b"".join(body))))
        reader.start()
        reader.join()

    threads = [threading.Thread(target=request, args=(str(index),)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({trace.trace_id for trace, _ in results.values()}) == 4
    for trace, data in results.values():
        assert data == b"row0\nrow1\nrow2\n"
        assert sorted(children(one_document(daemon, trace.trace_id))) == ["edge", "encode", "open", "scan", "stream"]


def test_new_trace_id_encodes_the_time() -> None:
    assert new_trace_id(0x6650A1B2).startswith("1-6650a1b2-")
