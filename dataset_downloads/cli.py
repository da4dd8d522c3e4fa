"""The ``dataset-downloads`` command: ``sample-data``, ``serve`` and ``traces``."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

DELEGATED = {"traces": "dataset_downloads.traces", "optimise": "dataset_downloads.optimise"}
EXAMPLES = (
    "/conservation-area.csv?organisation-entity={organisation}&fields=entity,name,reference",
    "/conservation-area.geojson?limit=100",
    "/title-boundary.parquet",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] and arguments[0] in DELEGATED:  # their options belong to their own modules' parsers
        return _delegate(arguments[0], arguments[1:])
    parser = _parser()
    args = parser.parse_args(arguments)
    status: int = args.run(args)
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dataset-downloads", description="Filtered downloads of Parquet datasets.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    sample = commands.add_parser("sample-data", help="write deterministic planning-like sample datasets")
    sample.add_argument("directory", type=Path, help="folder to write {dataset}.parquet files into")
    sample.set_defaults(run=_sample_data)
    serve = commands.add_parser("serve", help="run the whole request path locally (edge, cache, worker)")
    serve.add_argument("--data", required=True, help="a folder of {dataset}.parquet, or s3://bucket/prefix/")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000; 0 picks one)")
    serve.add_argument("--s3", action="store_true", help="upload the folder to a local moto S3 and serve from it")
    serve.add_argument(
        "--results",
        default=".local/results",
        help="results store for large downloads: a folder or s3://bucket/prefix/ (default .local/results; '' off)",
    )
    serve.add_argument(
        "--results-threshold", type=int, default=None, help="store results estimated above this many bytes (5 MiB)"
    )
    serve.add_argument("--cache-mb", type=int, default=64, help="response cache size in MiB (default 64)")
    serve.add_argument(
        "--traces", type=Path, default=Path(".local/traces"), help="where the local X-Ray daemon keeps segments"
    )
    serve.add_argument("--xray-port", type=int, default=2000, help="UDP port of the local X-Ray daemon (0 picks one)")
    serve.set_defaults(run=_serve)
    # Listed for --help; main() hands their arguments to their modules before this parser sees them.
    commands.add_parser("traces", help="print the X-Ray waterfall of a local request (see traces --help)")
    commands.add_parser("optimise", help="rewrite a Parquet dataset for fast filtered downloads (see optimise --help)")
    return parser


def _sample_data(args: argparse.Namespace) -> int:
    from dataset_downloads.sample import write_samples  # noqa: PLC0415  # pyarrow loads only when needed

    for path in write_samples(args.directory):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from dataset_downloads.cache import ResponseCache  # noqa: PLC0415
    from dataset_downloads.server import start_server  # noqa: PLC0415
    from dataset_downloads.stack import real_worker  # noqa: PLC0415

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's own access log would drown ours
    data = str(args.data)
    stop_s3 = None
    if args.s3:
        if data.startswith("s3://"):
            print("--s3 uploads a local folder: give --data DIR", file=sys.stderr)
            return 2
        from dataset_downloads.s3local import start_local_s3  # noqa: PLC0415

        local = start_local_s3(Path(data))
        os.environ.update(local.environ)
        data, stop_s3 = local.url, local.stop
        print(f"moto S3 at {local.endpoint}, serving {data}")
    elif data.startswith("s3://") and not os.environ.get("AWS_ENDPOINT_URL"):
        print("note: AWS_ENDPOINT_URL is not set, so s3:// reads go to AWS itself", file=sys.stderr)
    elif not data.startswith("s3://") and not Path(data).is_dir():
        print(f"{data} is not a folder (make one with `dataset-downloads sample-data {data}`)", file=sys.stderr)
        return 2
    stop_daemon = _start_xray_daemon(args.traces, args.xray_port)
    cache = ResponseCache(max_bytes=args.cache_mb << 20)
    results = str(args.results) or None
    worker, release = real_worker(data, results, args.results_threshold)
    base_url, stop = start_server(data, args.host, args.port, worker=worker, cache=cache, results=results)
    print(f"serving {data} at {base_url}")
    for example in EXAMPLES:
        print(f"  {base_url}{example.format(organisation=_first_organisation(data))}")
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("stopping", file=sys.stderr)
    finally:
        stop()
        release()
        stop_daemon()
        if stop_s3 is not None:
            stop_s3()
    return 0


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM stops the server like Ctrl-C: through the same clean shutdown."""
    raise KeyboardInterrupt


def _start_xray_daemon(folder: Path, port: int) -> Callable[[], None]:
    """Start the local X-Ray daemon stand-in and point the worker's tracer at it (before the worker is built)."""
    from dataset_downloads.xray_daemon import start_daemon  # noqa: PLC0415

    try:
        address, stop = start_daemon("127.0.0.1", port, folder)
    except OSError:  # the port is taken (a real daemon, another server): any free port will do
        address, stop = start_daemon("127.0.0.1", 0, folder)
    os.environ["AWS_XRAY_DAEMON_ADDRESS"] = address
    print(f"X-Ray segments to {address}, kept in {folder} (see `dataset-downloads traces`)")
    return stop


def _first_organisation(data: str) -> str:
    """An organisation that publishes conservation areas, so the example link returns rows."""
    path = Path(data) / "conservation-area.parquet"
    if data.startswith("s3://") or not path.is_file():
        return "600003"
    import pyarrow.parquet as pq  # noqa: PLC0415

    column = pq.read_table(path, columns=["organisation-entity"]).column(0)
    return str(column[0].as_py()) if len(column) else "600003"


def _delegate(command: str, rest: list[str]) -> int:
    # Imported only when asked, so the other commands work without these modules' dependencies.
    module_name = DELEGATED[command]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        print(f"`{command}` is not available ({module_name} is missing)", file=sys.stderr)
        return 2
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
