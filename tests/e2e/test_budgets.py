"""Budgets a user relies on: the server's memory does not grow with the dataset, and a selective filter on a
sorted dataset in S3 reads only a small part of the object (counted at the moto server).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from dataset_downloads.sample import SAMPLES, write_samples
from dataset_downloads.server import start_server
from tests.e2e.conftest import Oracle, upload
from tests.support.s3 import MotoServer, s3_client
from worker.app import App
from worker.config import WorkerSettings
from worker.source import source_from_url

BIG = "title-boundary"
# The server process, after streaming every row of the largest sample as CSV, JSON and GeoJSON. Measured:
# 272-304 MiB for 150k and 300k rows alike (160 MiB of it the interpreter and its imports, up to 75 MiB more on
# a fresh install still compiling .pyc files): the growth with the dataset is the real budget, the whole is a
# loose bound.
RSS_BUDGET_MIB = 448
RSS_GROWTH_MIB = 48


def _peak_rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    assert match, status
    return int(match.group(1)) / 1024


@pytest.fixture
def serve_process(tmp_path: Path) -> Iterator[tuple[Path, list[tuple[str, subprocess.Popen[str]]]]]:
    """Start ``dataset-downloads serve`` processes on demand; stop them all at the end."""
    started: list[tuple[str, subprocess.Popen[str]]] = []
    yield tmp_path, started
    for _, process in started:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def _start(folder: Path, traces: Path) -> tuple[str, subprocess.Popen[str]]:
    command = [sys.executable, "-m", "dataset_downloads.cli", "serve", "--data", str(folder), "--port", "0"]
    # --results '': stream every download (this measures streaming memory) and write nothing into the repository
    command += ["--traces", str(traces), "--xray-port", "0", "--results", ""]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(r"serving .* at (http://127\.0\.0\.1:\d+)", line)
        if found:
            return found.group(1), process
    raise AssertionError("the server did not start")


def _stream_everything(base_url: str) -> int:
    rows = 0
    for fmt in ("csv", "json", "geojson"):
        with requests.get(f"{base_url}/{BIG}.{fmt}", stream=True, timeout=120) as response:
            assert response.status_code == 200
            size = sum(len(chunk) for chunk in response.iter_content(1 << 20))
            assert size > 0
        rows += 1
    return rows


@pytest.mark.slow
def test_server_memory_does_not_grow_with_the_dataset(
    serve_process: tuple[Path, list[tuple[str, subprocess.Popen[str]]]],
) -> None:
    tmp_path, started = serve_process
    spec = next(s for s in SAMPLES if s.dataset == BIG)  # 300,000 rows, row groups of 20,000: half, then all
    peaks = []
    for factor in (1, 2):
        folder = tmp_path / f"x{factor}"
        write_samples(folder, [replace(spec, rows=spec.rows * factor // 2)])
        base_url, process = _start(folder, tmp_path / f"traces{factor}")
        started.append((base_url, process))
        _stream_everything(base_url)
        peaks.append(_peak_rss_mib(process.pid))
    print(f"peak RSS of the server: {peaks[0]:.0f} MiB (150k rows), {peaks[1]:.0f} MiB (300k rows)")
    assert peaks[0] < RSS_BUDGET_MIB, peaks
    assert peaks[1] < RSS_BUDGET_MIB, peaks
    assert peaks[1] - peaks[0] < RSS_GROWTH_MIB, peaks


@pytest.fixture(scope="module")
def s3_stack(s3_env: MotoServer, samples: Path) -> Iterator[tuple[str, str, MotoServer]]:
    """The real stack over the samples in a (versioned) moto bucket; yields base URL, bucket and server."""
    bucket = upload(s3_env, samples)
    url = f"s3://{bucket}/datasets/"
    app = App(WorkerSettings(source=url), source=source_from_url(url, s3_client=s3_client(s3_env.endpoint_url)))
    base_url, stop = start_server(url, worker=app.handle)
    try:
        yield base_url, bucket, s3_env
    finally:
        stop()
        app.tracer.close()


def test_a_selective_filter_reads_a_small_part_of_the_object(
    s3_stack: tuple[str, str, MotoServer], oracle: Oracle, capfd: pytest.CaptureFixture[str]
) -> None:
    base_url, bucket, server = s3_stack
    org, count = oracle.organisations(BIG)[200]  # a publisher with a few dozen rows, in one row group
    key = f"datasets/{BIG}.parquet"
    size = s3_client(server.endpoint_url).head_object(Bucket=bucket, Key=key)["ContentLength"]
    server.counter.reset()
    capfd.readouterr()
    response = requests.get(f"{base_url}/{BIG}.csv?organisation-entity={org}", timeout=60)
    assert response.status_code == 200
    assert response.content.count(b"\n") >= count + 1
    traffic = server.counter.get(bucket, key)
    with capfd.disabled():
        share = traffic.body_bytes / size
        print(f"read {traffic.body_bytes:,} of {size:,} bytes ({share:.1%}), {traffic.requests} requests")
    assert traffic.body_bytes < 0.15 * size, (traffic, size)
    logged = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    [line] = [entry for entry in logged if entry.get("trace_id") == response.headers["x-download-trace-id"]]
    assert line["row_groups_total"] == 15
    assert line["row_groups_read"] <= 2
    assert line["bytes_read"] == traffic.body_bytes
