"""Engine benchmark: the worker against pandas, DuckDB and polars, side by side, each run in a fresh process.

    .venv/bin/python benchmarks/engines.py [--quick] [--formats csv,json] [--cases all,10pct,1pct]
        [--engines worker,worker-frugal,worker-lambda,pandas,duckdb,duckdb-arrow,polars] [--layouts unsorted,sorted]
        [--repeat 3] [--out results.json]

The dataset (2,000,000 planning-like rows, or 200,000 with ``--quick``) is generated once into
``benchmarks/.cache/`` in two layouts: ``unsorted`` (~1M-row groups) and ``sorted`` (by organisation-entity
then entity, 100k-row groups, via ``dataset_downloads.optimise``). Cases: no filter, one organisation with ~10%
of the rows, one with ~1%. Output goes to counting sinks; see docs/performance.md for method and results.
With ``--repeat N`` every cell runs N times, its engines taking turns (worker, polars, DuckDB, worker, …, so a
slow minute of the shared machine falls on all of them), and reports the run of median wall time with the
highest peak RSS of the N.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# Run as a script, sys.path[0] is benchmarks/, whose edge.py would shadow the edge package: project root first.
sys.path[:] = [str(HERE.parent), *(p for p in sys.path if Path(p or ".").resolve() != HERE), str(HERE)]

from _dataset import Dataset, generate  # noqa: E402

FORMATS = ("csv", "json", "ndjson", "parquet", "geojson")
CASES = ("all", "10pct", "1pct")
ENGINES = ("worker", "worker-frugal", "worker-lambda", "pandas", "duckdb", "duckdb-arrow", "polars")
LAYOUTS = ("unsorted", "sorted")
TIMEOUT = 900


def measure(dataset: Dataset, layout: str, case: str, fmt: str, engine: str) -> dict[str, Any]:
    """One fresh child process running one engine; its JSON result plus the derived rates."""
    spec = {
        "engine": engine,
        "format": fmt,
        "folder": str(dataset.folder),
        "layout": layout,
        "path": str(dataset.path(layout)),
        "values": list(dataset.cases[case]),
    }
    try:
        child = subprocess.run(
            [sys.executable, str(HERE / "_runners.py"), json.dumps(spec)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        lines = child.stdout.strip().splitlines()
        result: dict[str, Any] = json.loads(lines[-1]) if lines else {"error": child.stderr.strip()[-300:]}
    except subprocess.TimeoutExpired:
        result = {"error": f"timeout after {TIMEOUT} s"}
    result.update(layout=layout, case=case, format=fmt, engine=engine, rows=dataset.matches[case])
    if "wall" in result:
        result["rows_per_s"] = result["rows"] / result["wall"]
        result["mb_per_s"] = result["bytes"] / 1e6 / result["wall"]
    return result


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One engine's repeated runs of a cell as one result: the run of median wall time (the slower middle one of
    an even number), with every run's wall time (``walls``) and the highest peak RSS; the first error if any run
    failed.

    >>> median_run([{"wall": 3.0, "rss_peak_mb": 8}, {"wall": 1.0, "rss_peak_mb": 30}, {"wall": 2.0, "rss_peak_mb": 9}])
    {'wall': 2.0, 'rss_peak_mb': 30, 'walls': [1.0, 2.0, 3.0]}
    """
    failed = [run for run in runs if "wall" not in run]
    if failed:
        return failed[0]
    ordered = sorted(runs, key=lambda run: run["wall"])
    result = dict(ordered[len(ordered) // 2])
    result["rss_peak_mb"] = max(run["rss_peak_mb"] for run in runs)
    if len(runs) > 1:
        result["walls"] = [run["wall"] for run in ordered]
    return result


def _cell(result: dict[str, Any], worker: dict[str, Any] | None) -> str:
    if "wall" not in result:
        return str(result.get("error", "?"))[:40]
    ttfb = "-" if result["ttfb"] is None else f"{result['ttfb']:.2f}"
    ratio = ""
    if worker is not None and "wall" in worker and result["engine"] != "worker":
        ratio = f" | x{worker['wall'] / result['wall']:.2f}"
    return (
        f"{result['wall']:.2f} s | {ttfb} s | {result['bytes'] / 1e6:.1f} MB | {result['mb_per_s']:.0f} MB/s | "
        f"{result['rows_per_s'] / 1e3:.0f} krows/s | {result['rss_peak_mb']:.0f} MB{ratio}"
    )


def table(results: list[dict[str, Any]]) -> str:
    """A Markdown table: one row per measurement; the last column is worker wall time ÷ this engine's."""
    head = "| layout | case | format | engine | wall | TTFB | out | MB/s out | rows/s | peak RSS | worker ÷ this |"
    lines = [head, "|" + "---|" * 11]
    workers = {(r["layout"], r["case"], r["format"]): r for r in results if r["engine"] == "worker"}
    for r in results:
        cell = _cell(r, workers.get((r["layout"], r["case"], r["format"])))
        cells = cell.split(" | ") if "wall" in r else [cell]
        cells += [""] * (7 - len(cells))
        lines.append(f"| {r['layout']} | {r['case']} | {r['format']} | {r['engine']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _choices(text: str, allowed: Sequence[str]) -> list[str]:
    chosen = [item for item in text.split(",") if item]
    unknown = [item for item in chosen if item not in allowed]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown {unknown}; choose from {', '.join(allowed)}")
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    """Generate (or reuse) the dataset, run every selected combination, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200,000 rows instead of 2,000,000")
    parser.add_argument("--rows", type=int, default=None, help="any other number of rows")
    parser.add_argument("--formats", type=lambda t: _choices(t, FORMATS), default=list(FORMATS))
    parser.add_argument("--cases", type=lambda t: _choices(t, CASES), default=list(CASES))
    parser.add_argument("--engines", type=lambda t: _choices(t, ENGINES), default=list(ENGINES))
    parser.add_argument("--layouts", type=lambda t: _choices(t, LAYOUTS), default=list(LAYOUTS))
    parser.add_argument("--repeat", type=int, default=1, help="runs of each cell (engines take turns); median wall")
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    rows = args.rows or (200_000 if args.quick else 2_000_000)
    dataset = generate(rows)
    print(f"# {rows:,} rows; cases {dataset.cases}; matches {dataset.matches}", file=sys.stderr)
    results = []
    for layout in args.layouts:
        for case in args.cases:
            for fmt in args.formats:
                runs: dict[str, list[dict[str, Any]]] = {engine: [] for engine in args.engines}
                for _ in range(args.repeat):
                    for engine in args.engines:
                        runs[engine].append(measure(dataset, layout, case, fmt, engine))
                for engine in args.engines:
                    result = median_run(runs[engine])
                    print(f"  {layout} {case} {fmt} {engine}: {_cell(result, None)}", file=sys.stderr)
                    results.append(result)
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=1))
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
