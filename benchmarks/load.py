"""Load test of the local stack: N concurrent clients, mixed downloads, a fixed time; every response verified.

Runs ``python -m dataset_downloads.cli serve`` as a subprocess on loopback over sample data, then drives it with
``--clients`` threads for ``--seconds``: formats, filters, projections and limits, gzip and identity, repeated
requests (cache hits) and fresh ones (misses). Each body is parsed and its row count checked against the source
(pyarrow). Reports throughput, p50/p99 latency and time to first byte, errors (must be zero) and the server
process's peak memory (VmHWM). Not part of CI: run it by hand::

    .venv/bin/python benchmarks/load.py --seconds 20 --clients 8
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _meter import peak_rss_mb  # noqa: E402

from dataset_downloads.sample import SAMPLES, scaled, write_samples  # noqa: E402
from edge.contract import parse_request  # noqa: E402
from tests.reliability.checks import count_rows, expected_rows  # noqa: E402  # the test suite's completeness checks


@dataclass(frozen=True)
class Planned:
    """One request of the mix and the rows it must return."""

    target: str
    fmt: str
    encoding: str
    rows: int


@dataclass
class Results:
    """What the clients saw, appended under a lock."""

    latencies: list[float] = field(default_factory=list)
    ttfbs: list[float] = field(default_factory=list)
    bytes: int = 0
    errors: list[str] = field(default_factory=list)
    cache: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def plan(folder: Path, rng: random.Random, count: int) -> list[Planned]:
    """A mix of ``count`` distinct requests over the samples (the clients repeat them: hits after the first)."""
    planned = []
    organisations = {
        name: [str(v) for v in pc.unique(pq.read_table(folder / f"{name}.parquet").column("organisation-entity"))]
        for name in ("conservation-area", "tree", "title-boundary")
    }
    for _ in range(count):
        dataset = rng.choice(list(organisations))
        fmt = rng.choice(("csv", "json", "ndjson", "geojson", "parquet"))
        params = []
        if rng.random() < 0.6:
            params.append("organisation-entity=" + ",".join(rng.sample(organisations[dataset], 2)))
        if rng.random() < 0.3 and fmt != "geojson":
            params.append("fields=entity,name,reference")
        if rng.random() < 0.5 or fmt == "parquet":
            params.append(f"limit={rng.randint(1, 20_000)}")
        query = "&".join(params)
        path = f"/{dataset}.{fmt}"
        encoding = "identity" if fmt == "parquet" else rng.choice(("gzip", "identity"))
        target = path + ("?" + query if query else "")
        planned.append(Planned(target, fmt, encoding, expected_rows(folder, parse_request("GET", path, query))))
    return planned


def fetch(connection: http.client.HTTPConnection, item: Planned, results: Results) -> None:
    """One request (following the stack's redirects to stored results): time it, read it whole, check status,
    completeness and rows."""
    started = time.perf_counter()
    target, redirects = item.target, 0
    while True:
        connection.request("GET", target, headers={"Accept-Encoding": item.encoding})
        response = connection.getresponse()
        first = response.read(1)
        location = response.getheader("Location")
        if response.status not in (301, 302, 303, 307, 308) or not location or redirects == 3:
            break
        response.read()
        target, redirects = urlsplit(location)._replace(scheme="", netloc="").geturl(), redirects + 1
    ttfb = time.perf_counter() - started
    body = first + response.read()
    latency = time.perf_counter() - started
    problem = None
    if response.status != 200:
        problem = f"{item.target}: status {response.status}"
    else:
        rows = count_rows(item.fmt, body, response.getheader("Content-Encoding"))
        if rows != item.rows:
            problem = f"{item.target}: {rows} rows, expected {item.rows}"
    verdict = (response.getheader("X-Cache") or "?").split(" ")[0] + ("+redirect" if redirects else "")
    with results.lock:
        results.latencies.append(latency)
        results.ttfbs.append(ttfb)
        results.bytes += len(body)
        results.cache[verdict] = results.cache.get(verdict, 0) + 1
        if problem:
            results.errors.append(problem)


def client(port: int, mix: list[Planned], seed: int, deadline: float, results: Results) -> None:
    """One client: a keep-alive connection, requests from the mix until the deadline."""
    rng = random.Random(seed)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        while time.perf_counter() < deadline:
            item = rng.choice(mix)
            try:
                fetch(connection, item, results)
            except Exception as error:  # count it, reconnect, go on: a load test reports failures
                with results.lock:
                    results.errors.append(f"{item.target}: {type(error).__name__}: {error}")
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    finally:
        connection.close()


def start_server(data: Path, traces: Path) -> tuple[subprocess.Popen[str], int]:
    """The local stack as a subprocess on a free port; returns the process and its port."""
    command = [sys.executable, "-m", "dataset_downloads.cli", "serve", "--data", str(data), "--port", "0"]
    command += ["--traces", str(traces), "--xray-port", "0"]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("serving ") and " at http://" in line:
            return process, int(line.rsplit(":", 1)[1])
    raise RuntimeError("the server did not start")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) in milliseconds."""
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else float("nan")


def run(args: argparse.Namespace) -> dict[str, object]:
    """Set up, drive the server for ``args.seconds``, and summarise."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "data"
        write_samples(folder, scaled(SAMPLES, args.scale))
        mix = plan(folder, random.Random(args.seed), args.requests)
        process, port = start_server(folder, Path(scratch) / "traces")
        try:
            results = Results()
            started = time.perf_counter()
            deadline = started + args.seconds
            threads = [
                threading.Thread(target=client, args=(port, mix, args.seed + i, deadline, results))
                for i in range(args.clients)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
            peak = peak_rss_mb(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=30)
    return {
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "requests": len(results.latencies),
        "requests_per_second": round(len(results.latencies) / elapsed, 1),
        "mib_per_second": round(results.bytes / elapsed / 2**20, 1),
        "latency_p50_ms": round(percentile(results.latencies, 50), 1),
        "latency_p99_ms": round(percentile(results.latencies, 99), 1),
        "ttfb_p50_ms": round(percentile(results.ttfbs, 50), 1),
        "ttfb_p99_ms": round(percentile(results.ttfbs, 99), 1),
        "cache": results.cache,
        "errors": len(results.errors),
        "first_errors": results.errors[:5],
        "server_peak_rss_mib": round(peak, 1),
    }


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, print the summary as JSON; exit 1 if any response was wrong."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the clients run (default 20)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--scale", type=float, default=0.2, help="sample size factor (default 0.2)")
    parser.add_argument("--requests", type=int, default=60, help="distinct requests in the mix (default 60)")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the mix and the clients")
    summary = run(parser.parse_args(argv))
    print(json.dumps(summary, indent=2))
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
