"""One engine, one format, one filter, in this (fresh) process: ``python benchmarks/_runners.py SPEC_JSON``.

Prints one JSON line: wall time, time to first output byte, bytes out, peak RSS (``ru_maxrss``) and the RSS
after imports, so the parent can compare engines measured side by side. Output goes to a counting sink.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, cast

HERE = Path(__file__).resolve().parent
# Run as a script, sys.path[0] is benchmarks/, whose edge.py would shadow the edge package: project root first.
sys.path[:] = [str(HERE.parent), *(p for p in sys.path if Path(p or ".").resolve() != HERE), str(HERE)]

from _meter import Meter, peak_rss_mb, pipe_into  # noqa: E402

Spec = dict[str, Any]
FILTER = "organisation-entity"


class Absent(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Makes ``names`` (top-level packages) fail to import as if not installed, though this venv has them."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        return importlib.util.spec_from_loader(fullname, self) if fullname.partition(".")[0] in self.names else None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        raise ModuleNotFoundError(f"No module named {spec.name!r} (not deployed with the worker)", name=spec.name)

    def exec_module(self, module: object) -> None:
        """Never reached: :meth:`create_module` raises."""


# pandas and numpy are in this venv for the baselines and the tests, but in no deployment of the worker (its
# dependencies: pyproject.toml [worker]; the Lambda zip: infra/package.py). pyarrow imports them whenever they
# are importable (pa.table / pa.array look for DataFrames): pandas is +58 MB of RSS the worker never has, and
# numpy's OpenBLAS starts a thread per core whose spinning cost the frugal scan ~8% of its time.
NOT_DEPLOYED = frozenset({"pandas", "numpy"})
# The Lambda zip also has no polars (250 MB unzipped limit): text is rendered with pyarrow alone.
NOT_IN_LAMBDA = NOT_DEPLOYED | {"polars"}


def run_worker(spec: Spec, meter: Meter, absent: frozenset[str] = NOT_DEPLOYED) -> None:
    """The worker's whole HTTP handler (no gzip): event → Response → body chunks."""
    sys.meta_path.insert(0, Absent(absent))
    from worker.app import App
    from worker.config import WorkerSettings
    from worker.warmup import warm_up

    app = App(WorkerSettings(source=spec["folder"]))
    warm_up()  # what the Lambda runtime does at init (worker/runtime/__main__.py)
    query = f"{FILTER}={','.join(map(str, spec['values']))}" if spec["values"] else ""
    event = {
        "rawPath": f"/{spec['layout']}.{spec['format']}",
        "rawQueryString": query,
        "headers": {},
        "requestContext": {"http": {"method": "GET"}},
    }
    meter.restart()
    response = app.handle(event)
    if response.status != 200:
        raise RuntimeError(f"worker answered {response.status}: {b''.join(response.body)[:300]!r}")
    for chunk in response.body:
        meter.write(chunk)


def run_worker_frugal(spec: Spec, meter: Meter) -> None:
    """The worker as a Lambda of under 3,538 MB runs it: one row group at a time."""
    os.environ["SCAN_ROW_GROUPS_AT_ONCE"] = "1"  # read when worker.scan is first imported (worker/parallelism.py)
    run_worker(spec, meter)


def run_worker_lambda(spec: Spec, meter: Meter) -> None:
    """The worker as the Lambda zip deploys it at the template's default 1,024 MB: frugal, and without polars."""
    os.environ["SCAN_ROW_GROUPS_AT_ONCE"] = "1"
    run_worker(spec, meter, NOT_IN_LAMBDA)


def run_duckdb(spec: Spec, meter: Meter) -> None:
    """DuckDB ``COPY (SELECT … WHERE …) TO`` a pipe, with its own CSV/JSON/Parquet writers."""
    import duckdb

    options = {
        "csv": "FORMAT csv, HEADER true",
        "ndjson": "FORMAT json",
        "json": "FORMAT json, ARRAY true",
        "parquet": "FORMAT parquet, COMPRESSION zstd",
    }[spec["format"]]
    where = f' WHERE "{FILTER}" IN ({",".join(map(str, spec["values"]))})' if spec["values"] else ""
    con = duckdb.connect()
    meter.restart()
    with pipe_into(meter) as pipe:
        con.sql(f"COPY (SELECT * FROM read_parquet('{spec['path']}'){where}) TO '{pipe}' ({options})")


def run_duckdb_arrow(spec: Spec, meter: Meter) -> None:
    """DuckDB streaming Arrow batches (``con.sql(q).to_arrow_reader()``) into pyarrow's CSV writer."""
    import duckdb
    import pyarrow.csv as pacsv

    if spec["format"] != "csv":
        raise NotImplementedError("n/a")
    where = f' WHERE "{FILTER}" IN ({",".join(map(str, spec["values"]))})' if spec["values"] else ""
    con = duckdb.connect()
    meter.restart()
    reader = con.sql(f"SELECT * FROM read_parquet('{spec['path']}'){where}").to_arrow_reader(65_536)
    with pacsv.CSVWriter(cast(IO[bytes], meter), reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)


def run_polars(spec: Spec, meter: Meter) -> None:
    """polars streaming ``scan_parquet → filter → sink_*``; a JSON array is its NDJSON with ``\\n`` → ``,``."""
    import polars as pl

    frame = pl.scan_parquet(spec["path"])
    if spec["values"]:
        frame = frame.filter(pl.col(FILTER).is_in(spec["values"]))
    sink = {"csv": "sink_csv", "ndjson": "sink_ndjson", "json": "sink_ndjson", "parquet": "sink_parquet"}
    meter.restart()
    with pipe_into(meter) as pipe:
        getattr(frame, sink[spec["format"]])(str(pipe))
    if spec["format"] == "json":
        meter.write(b"[" if meter.bytes else b"[]")  # `[` plus `]` replaces the final newline


def run_pandas(spec: Spec, meter: Meter) -> None:
    """The obvious implementation: pyarrow ``iter_batches(10_000)`` → pandas → filter → ``to_csv`` / json."""
    import pyarrow.parquet as pq
    from _pandas import encode_batches, write_parquet

    meter.restart()
    source = pq.ParquetFile(spec["path"])
    if spec["format"] == "parquet":
        write_parquet(source, spec["values"], meter)
        return
    for chunk in encode_batches(source, spec["format"], spec["values"]):
        meter.write(chunk)


RUNNERS: dict[str, Callable[[Spec, Meter], None]] = {
    "worker": run_worker,
    "worker-frugal": run_worker_frugal,
    "worker-lambda": run_worker_lambda,
    "pandas": run_pandas,
    "duckdb": run_duckdb,
    "duckdb-arrow": run_duckdb_arrow,
    "polars": run_polars,
}


def main(argv: list[str]) -> int:
    """Run the spec in ``argv[0]`` and print its measurements as one JSON line."""
    spec: Spec = json.loads(argv[0])
    imported = time.perf_counter()
    meter = Meter()
    result: dict[str, Any] = {"engine": spec["engine"], "format": spec["format"]}
    try:
        RUNNERS[spec["engine"]](spec, meter)
        result.update(meter.result())
    except (NotImplementedError, KeyError) as error:
        result["error"] = f"n/a ({error})" if str(error) != "n/a" else "n/a"
    except Exception as error:  # report any engine failure as data, not a crash of the harness
        result["error"] = f"{type(error).__name__}: {error}"[:300]
        traceback.print_exc(file=sys.stderr)
    result["setup"] = meter.started - imported
    result["rss_peak_mb"] = peak_rss_mb()
    result["optional_imported"] = sorted(name for name in NOT_IN_LAMBDA if name in sys.modules)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
