"""Edge benchmark: cold import of ``edge.handler`` and warm per-request time for both CloudFront events.

Run ``python benchmarks/edge.py`` from the repository root. Cold import is measured in fresh interpreters
(median of several runs) beside a bare ``python -c pass`` from the same run; ``-X importtime`` names the top
contributors. Warm time is the median over many calls of the handler on the sample events in ``events/``.
Target: warm per-request median under 50 µs.
"""

from __future__ import annotations

import copy
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLD_RUNS = 7
WARM_CALLS = 5000
TARGET_US = 50.0
EVENTS = (
    "cloudfront-viewer-request-csv-filtered",
    "cloudfront-viewer-request-misspelled-filter",
    "cloudfront-origin-request-csv-filtered",
    "cloudfront-origin-request-parquet-whole",
)
SIGNED_EVENT = "cloudfront-origin-request-csv-filtered"
# The sample event's origin (what CloudFront chose) is the eu-west-2 worker; routing from us-east-1 switches it.
SIGNED_WORKERS = {
    "eu-west-2": "eu2abcdefghijklmnopqrstuvwxyz0123.lambda-url.eu-west-2.on.aws",
    "us-east-1": "us1abcdefghijklmnopqrstuvwxyz0123.lambda-url.us-east-1.on.aws",
}
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "ASIABENCHMARKFAKE000",
    "AWS_SECRET_ACCESS_KEY": "benchmark/fake/secret/key/0123456789abcdef",
    "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEFAKE" + "x" * 800,  # about a real session token's length
}


def _run_ms(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    return (time.perf_counter() - started) * 1000


def cold_import() -> tuple[float, float]:
    """Median wall time (ms) of a fresh interpreter importing edge.handler, and of a bare one."""
    bare, edge = [], []
    for _ in range(COLD_RUNS):
        bare.append(_run_ms("pass"))
        edge.append(_run_ms("import edge.handler"))
    return statistics.median(edge), statistics.median(bare)


def import_profile(top: int = 8) -> list[tuple[float, str]]:
    """The ``-X importtime`` top contributors (cumulative ms, module) for ``import edge.handler``."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import edge.handler"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    rows = []
    for line in result.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2].rstrip()
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        # the root and its direct imports: deeper modules are already inside their parent's cumulative time
        if depth <= 1:
            rows.append((int(parts[1]) / 1000, "  " * depth + name.strip()))
    return sorted(rows, reverse=True)[:top]


def warm(name: str, signed: bool = False) -> float:
    """Median µs per handler call on the event ``name`` (each call gets its own deep copy, not timed); ``signed``
    routes to another region's worker so the edge signs (fake credentials)."""
    from edge.config import EdgeConfig, parse_config
    from edge.handler import handle

    config = parse_config((ROOT / "edge" / "config.json").read_bytes())
    region = "eu-west-2"
    if signed:
        config = EdgeConfig(workers=SIGNED_WORKERS, default_worker_region="eu-west-2")
        region = "us-east-1"
        os.environ.update(FAKE_CREDENTIALS)
    event = json.loads((ROOT / "events" / f"{name}.json").read_text(encoding="utf-8"))
    copies = [copy.deepcopy(event) for _ in range(WARM_CALLS)]
    handle(copy.deepcopy(event), config, region)  # botocore's import is the first signed call's, not timed here
    timings = []
    for item in copies:
        started = time.perf_counter_ns()
        result = handle(item, config, region)
        timings.append(time.perf_counter_ns() - started)
    if signed and "authorization" not in result["headers"]:
        raise SystemExit("the signed case was not signed")
    return statistics.median(timings) / 1000


def botocore_import() -> float:
    """Median ms a fresh interpreter spends importing what signing needs, above a bare one."""
    code = "import botocore.auth, botocore.awsrequest, botocore.credentials"
    return statistics.median(_run_ms(code) - _run_ms("pass") for _ in range(COLD_RUNS))


def main() -> None:
    """Measure and print the table."""
    sys.path.insert(0, str(ROOT))
    edge_ms, bare_ms = cold_import()
    print(f"cold import (median of {COLD_RUNS}, fresh interpreters)")
    print(f"  {'python -c pass':<40} {bare_ms:9.1f} ms")
    print(f"  {'python -c import edge.handler':<40} {edge_ms:9.1f} ms")
    print(f"  {'edge.handler alone (difference)':<40} {edge_ms - bare_ms:9.1f} ms")
    print("top imports (-X importtime, cumulative)")
    for ms, module in import_profile():
        print(f"  {module:<40} {ms:9.1f} ms")
    print(f"warm per request (median of {WARM_CALLS} calls; target < {TARGET_US:.0f} µs)")
    for name in EVENTS:
        micros = warm(name)
        verdict = "ok" if micros < TARGET_US else "OVER"
        print(f"  {name.removeprefix('cloudfront-'):<40} {micros:9.1f} µs  {verdict}")
    label = SIGNED_EVENT.removeprefix("cloudfront-") + ", signed"
    print(f"  {label:<40} {warm(SIGNED_EVENT, signed=True):9.1f} µs  (SigV4; the target is for unsigned requests)")
    print(f"first signed request: botocore import, once per environment (median of {COLD_RUNS})")
    print(f"  {'botocore.auth, .awsrequest, .credentials':<40} {botocore_import():9.1f} ms")


if __name__ == "__main__":
    main()
