"""Build the deployable artifacts, ``dist/edge.zip`` and ``dist/worker.zip``, for Lambda's platform, not this one's.

Run as ``python infra/package.py [--out dist] [--only edge|worker] [--edge-trigger viewer|origin]``.
The edge is standard library only, so its zip is ``edge/`` alone (docs/edge.md, "Standard library only").
The worker's dependencies are installed from the pinned ``constraints.txt`` as wheels for its platform (arm64,
Python 3.12), cached under ``.local/package-cache`` by a key of everything that decides them, then zipped
deterministically with the project's packages. Sizes are printed and checked against
the quotas (docs/deploy.md, "Limits"); a breach is an error with a message saying what it means.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``infra`` importable like it is for the tests
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.archive import ArchiveStats, collect, write_zip

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "constraints.txt"
DEFAULT_CACHE = ROOT / ".local" / "package-cache"
MIB = 1024 * 1024
# Lambda@Edge: the compressed function with its libraries, per trigger (CloudFront quotas, "Quotas on Lambda@Edge").
VIEWER_REQUEST_MAX_ZIPPED = 1 * MIB
ORIGIN_REQUEST_MAX_ZIPPED = 50 * MIB
# Lambda: the function's files unzipped, layers included (Lambda quotas, "Deployment package … 250 MB").
LAMBDA_MAX_UNZIPPED = 250 * MIB

SOURCE_SKIP = ("__pycache__", ".ruff_cache", ".mypy_cache", "ruff.toml")
# Installed-package noise that the running function never reads: bytecode is rebuilt by Lambda's Python, pip's
# install records name this machine's paths, and pyarrow's C++ headers and tests are for building against it.
PRUNE_DIRS = ("bin", "pyarrow/include", "pyarrow/src", "pyarrow/tests")
PRUNE_SUFFIXES = (".pyc", ".pyx", ".pxd", ".pxi", ".h", ".hpp")
PRUNE_DIST_INFO = ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")


class PackageError(Exception):
    """A build that must not be deployed: pip failed, a required file is missing, or a quota is exceeded."""


@dataclass(frozen=True)
class Target:
    """One Lambda artifact: what goes in it, for which platform, and the quotas it must fit."""

    name: str
    packages: tuple[str, ...]
    requirements: tuple[str, ...]
    platforms: tuple[str, ...]
    python_version: str
    required: tuple[str, ...] = ()
    executables: tuple[str, ...] = ()
    max_zipped: int | None = None
    max_unzipped: int | None = None
    compresslevel: int = 9


# No requirements: a viewer-request function with its libraries must fit in 1 MB zipped, and pydantic_core's
# compiled library alone is 1.9 MiB; edge/ruff.toml bans pydantic and the worker's libraries.
EDGE = Target(
    name="edge",
    packages=("edge",),
    requirements=(),
    platforms=("manylinux2014_x86_64",),
    python_version="3.12",
    required=("edge/handler.py", "edge/config.json"),
    max_zipped=VIEWER_REQUEST_MAX_ZIPPED,
    max_unzipped=LAMBDA_MAX_UNZIPPED,
)
WORKER = Target(
    name="worker",
    packages=("edge", "worker"),
    # No polars: its 170 MB runtime with pyarrow's 139 MB passes Lambda's 250 MB unzipped limit; the worker
    # then renders CSV with pyarrow too (same bytes, slower: docs/performance.md). duckdb (61 MiB) and fsspec
    # decode filtered downloads of unsorted files (worker/duckscan.py): 226 MiB in all.
    requirements=("pyarrow", "boto3", "aws-xray-sdk", "isal", "duckdb", "fsspec"),
    platforms=("manylinux2014_aarch64", "manylinux_2_28_aarch64"),
    python_version="3.12",
    required=("worker/runtime/exec-wrapper", "worker/runtime/__main__.py"),
    executables=("worker/runtime/exec-wrapper",),
    max_unzipped=LAMBDA_MAX_UNZIPPED,
    compresslevel=6,  # 226 MiB through deflate: level 9 costs twice the time for under 1% smaller
)


def for_edge_trigger(target: Target, trigger: str) -> Target:
    """The edge target with the zipped-size quota of the strictest trigger it is associated with.

    Example: ``for_edge_trigger(EDGE, "origin").max_zipped`` → 50 MiB; ``"viewer"`` → 1 MiB.
    """
    limit = VIEWER_REQUEST_MAX_ZIPPED if trigger == "viewer" else ORIGIN_REQUEST_MAX_ZIPPED
    return replace(target, max_zipped=limit)


def cache_key(target: Target, constraints: str) -> str:
    """A digest of everything that decides the installed dependencies (not the project's own code)."""
    spec = [target.requirements, target.platforms, target.python_version, constraints]
    return hashlib.sha256(json.dumps(spec).encode()).hexdigest()[:20]


def install_dependencies(target: Target, cache: Path, constraints: Path = CONSTRAINTS) -> Path:
    """Install ``target.requirements`` as wheels for its platform into a cached folder and return that folder.

    A folder is only published (renamed into place) once pip succeeded and pruning is done, so an interrupted
    build never leaves a half-installed cache behind.
    """
    folder = cache / f"{target.name}-py{target.python_version}-{cache_key(target, constraints.read_text())}"
    if folder.is_dir():
        return folder
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=cache))
    platforms = [arg for platform in target.platforms for arg in ("--platform", platform)]
    command = [
        *(sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"),
        *("--target", str(staging), "--implementation", "cp", "--python-version", target.python_version),
        *("--only-binary=:all:", *platforms, "--constraint", str(constraints), *target.requirements),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603  # fixed argv
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise PackageError(f"pip could not install {target.name}'s dependencies:\n{result.stderr.strip()}")
    prune(staging)
    staging.rename(folder)
    return folder


def prune(site: Path) -> None:
    """Delete what a Lambda function never reads from an installed ``--target`` folder (see ``PRUNE_*``)."""
    for relative in PRUNE_DIRS:
        shutil.rmtree(site / relative, ignore_errors=True)
    for path in sorted(site.rglob("*"), reverse=True):
        if path.is_dir() and path.name == "__pycache__":
            shutil.rmtree(path)
        elif path.is_file() and (
            path.suffix in PRUNE_SUFFIXES or (path.parent.name.endswith(".dist-info") and path.name in PRUNE_DIST_INFO)
        ):
            path.unlink()


def source_files(target: Target, source_root: Path = ROOT, edge_config: Path | None = None) -> dict[str, Path]:
    """The project's own files for ``target`` as ``{arcname: path}``; ``edge_config`` replaces edge/config.json."""
    files: dict[str, Path] = {}
    for package in target.packages:
        files.update(collect(source_root / package, f"{package}/", SOURCE_SKIP))
    if edge_config is not None and "edge" in target.packages:
        files["edge/config.json"] = edge_config
    missing = [name for name in target.required if name not in files]
    if missing:
        raise PackageError(f"{target.name}.zip would lack {', '.join(missing)}: the function could not start")
    return files


def check_limits(target: Target, stats: ArchiveStats) -> list[str]:
    """Every quota ``stats`` exceeds, as one sentence each (empty when the artifact fits)."""
    problems: list[str] = []
    if target.max_zipped is not None and stats.zipped_bytes > target.max_zipped:
        problems.append(f"{stats.path.name} is {mib(stats.zipped_bytes)} zipped, over {mib(target.max_zipped)}")
    if target.max_unzipped is not None and stats.unzipped_bytes > target.max_unzipped:
        problems.append(f"{stats.path.name} is {mib(stats.unzipped_bytes)} unzipped, over {mib(target.max_unzipped)}")
    return problems


def build(
    target: Target, out: Path, cache: Path = DEFAULT_CACHE, source_root: Path = ROOT, edge_config: Path | None = None
) -> ArchiveStats:
    """Build ``out/{target.name}.zip``: the cached dependencies plus the project's packages (ours win a clash).
    A target without requirements (the edge) is its own packages only: pip is not run.
    """
    files = collect(install_dependencies(target, cache), skip=("__pycache__",)) if target.requirements else {}
    files.update(source_files(target, source_root, edge_config))
    return write_zip(out / f"{target.name}.zip", files, target.executables, target.compresslevel)


def placeholder_workers(config: Path) -> list[str]:
    """The worker domains in an edge config that are not Lambda Function URLs (the repository's dev placeholder).

    Example: a config with ``{"workers": {"eu-west-2": "127.0.0.1:8001"}}`` → ``["127.0.0.1:8001"]``.
    """
    workers: dict[str, str] = json.loads(config.read_text()).get("workers", {})
    return sorted(domain for domain in workers.values() if not domain.endswith(".on.aws"))


def mib(size: int) -> str:
    """A size for people: ``mib(1572864)`` → ``'1.50 MiB'``."""
    return f"{size / MIB:.2f} MiB"


def main(argv: list[str] | None = None) -> int:
    """The command line: build the chosen artifacts, print their sizes, exit 1 on any quota breach."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--only", choices=("edge", "worker"))
    parser.add_argument("--edge-config", type=Path, help="the generated config.json (infra/edge_config.py)")
    parser.add_argument(
        "--edge-trigger", choices=("viewer", "origin"), default="viewer",
        help="the strictest trigger the edge is deployed on: viewer-request allows 1 MiB zipped, origin 50 MiB",
    )  # fmt: skip
    args = parser.parse_args(argv)
    targets = [for_edge_trigger(EDGE, args.edge_trigger), WORKER]
    failed = False
    for target in (t for t in targets if args.only in (None, t.name)):
        try:
            stats = build(target, args.out, args.cache, edge_config=args.edge_config)
        except PackageError as error:
            print(f"error: {error}", file=sys.stderr)
            failed = True
            continue
        print(f"{stats.path}: {mib(stats.zipped_bytes)} zipped, {mib(stats.unzipped_bytes)} unzipped")
        if "edge" in target.packages:
            local = placeholder_workers(args.edge_config or ROOT / "edge" / "config.json")
            if local:
                print(f"warning: {stats.path.name} routes to {', '.join(local)}: generate edge/config.json with "
                      "infra/edge_config.py before deploying", file=sys.stderr)  # fmt: skip
        for problem in check_limits(target, stats):
            print(f"error: {problem} ({target.name} cannot be deployed; see docs/deploy.md#limits)", file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
