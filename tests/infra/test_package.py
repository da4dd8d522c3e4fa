"""infra/package.py: the artifacts hold the right code for Lambda's platform, and the edge runs from its zip.

The edge has no wheels (standard library only); the worker's come from PyPI once (pip's cache) and are kept
installed under .local/package-cache, so a rerun only zips. The worker's 226 MiB are checked as installed
rather than zipped, to keep the suite quick.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from infra.archive import ArchiveStats, is_executable, write_zip
from infra.package import (
    DEFAULT_CACHE,
    EDGE,
    LAMBDA_MAX_UNZIPPED,
    MIB,
    VIEWER_REQUEST_MAX_ZIPPED,
    WORKER,
    PackageError,
    Target,
    build,
    check_limits,
    for_edge_trigger,
    install_dependencies,
    main,
    placeholder_workers,
    source_files,
)

ROOT = Path(__file__).resolve().parents[2]
WORKER_ONLY = {"pyarrow", "boto3", "botocore", "aws_xray_sdk", "numpy", "pandas", "s3transfer"}
THIRD_PARTY = WORKER_ONLY | {"pydantic", "pydantic_core", "typing_extensions"}


def top_levels(names: list[str]) -> set[str]:
    return {name.split("/", 1)[0] for name in names}


def wheel_tags(names: list[str], read: dict[str, str]) -> set[str]:
    tags: set[str] = set()
    for name in names:
        if name.endswith(".dist-info/WHEEL"):
            tags |= {line.split(": ", 1)[1] for line in read[name].splitlines() if line.startswith("Tag: ")}
    return tags


def test_edge_zip_is_the_edge_package_alone_within_the_viewer_request_quota(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    stats = build(EDGE, tmp_path / "dist", cache)
    with zipfile.ZipFile(stats.path) as archive:
        names = archive.namelist()
    assert top_levels(names) == {"edge"}  # no pydantic, no wheels at all: the edge is standard library only
    assert {"edge/handler.py", "edge/config.json", "edge/contract.py"} <= set(names)
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".so", "ruff.toml"))]
    assert not cache.exists(), "pip ran for a target without requirements"
    assert stats.zipped_bytes < VIEWER_REQUEST_MAX_ZIPPED // 10
    assert check_limits(for_edge_trigger(EDGE, "viewer"), stats) == []


def test_edge_zip_runs_in_an_isolated_interpreter(tmp_path: Path) -> None:
    stats = build(EDGE, tmp_path / "dist")
    root = tmp_path / "task"
    with zipfile.ZipFile(stats.path) as archive:
        archive.extractall(root)
    event = (ROOT / "events" / "cloudfront-viewer-request-canonical.json").read_text()
    probe = f"""
import importlib.util, json, sys
sys.path.insert(0, {str(root)!r})
import edge.handler
result = edge.handler.handler(json.loads({event!r}))
stdlib = sys.stdlib_module_names | set(sys.builtin_module_names) | {{"__main__"}}
print(json.dumps({{
    "handler": edge.handler.__file__,
    "absent": [m for m in {sorted(THIRD_PARTY)!r} if importlib.util.find_spec(m) is None],
    "third_party": sorted({{m.split(".")[0] for m in sys.modules}} - stdlib - {{"edge"}}),
    "result": sorted(result),
}}))
"""
    # -I: no PYTHON* variables, no user site; -S: not even the virtualenv's site-packages.
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe], capture_output=True, text=True, check=False, env={}, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["handler"].startswith(str(root))
    assert sorted(report["absent"]) == sorted(THIRD_PARTY)
    assert report["third_party"] == []
    assert report["result"]


def test_worker_dependencies_are_arm64_wheels_within_the_unzipped_quota() -> None:
    site = install_dependencies(WORKER, DEFAULT_CACHE)
    names = [p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()]
    wheels = {n: (site / n).read_text() for n in names if n.endswith(".dist-info/WHEEL")}
    tags = wheel_tags(names, wheels)
    assert {"pyarrow", "boto3", "botocore", "aws_xray_sdk", "duckdb", "fsspec"} <= top_levels(names)
    assert "pydantic" not in top_levels(names)  # nothing imports it since the edge went standard library only
    assert all(
        t.endswith("-none-any")
        or (t.startswith(("cp312-cp312-manylinux", "cp312-abi3-manylinux")) and t.endswith("_aarch64"))
        for t in tags
    )
    assert not [n for n in names if n.endswith(".so") and "x86_64" in n]
    sources = source_files(WORKER)
    size = sum((site / n).stat().st_size for n in names) + sum(p.stat().st_size for p in sources.values())
    assert size < LAMBDA_MAX_UNZIPPED


def test_worker_exec_wrapper_is_executable_in_the_zip(tmp_path: Path) -> None:
    stats = write_zip(tmp_path / "worker.zip", source_files(WORKER), WORKER.executables)
    assert is_executable(stats.path, "worker/runtime/exec-wrapper")
    with zipfile.ZipFile(stats.path) as archive:
        assert {"edge", "worker"} == top_levels(archive.namelist())


def test_a_missing_required_file_fails_the_build() -> None:
    with pytest.raises(PackageError, match=r"edge/absent\.py"):
        source_files(replace(EDGE, required=("edge/absent.py",)))


def test_edge_config_override_replaces_the_packaged_one(tmp_path: Path) -> None:
    generated = tmp_path / "config.json"
    generated.write_text("{}")
    assert source_files(EDGE, edge_config=generated)["edge/config.json"] == generated


@pytest.mark.parametrize(
    ("trigger", "zipped", "problems"),
    [
        pytest.param("viewer", 2 * MIB, ["edge.zip is 2.00 MiB zipped, over 1.00 MiB"], id="viewer-too-big"),
        pytest.param("origin", 2 * MIB, [], id="origin-fits"),
        pytest.param("viewer", MIB, [], id="viewer-exactly"),
    ],
)
def test_size_limits(trigger: str, zipped: int, problems: list[str]) -> None:
    stats = ArchiveStats(Path("edge.zip"), zipped, 3 * MIB, 10)
    assert check_limits(for_edge_trigger(EDGE, trigger), stats) == problems


def test_unzipped_limit() -> None:
    stats = ArchiveStats(Path("worker.zip"), 60 * MIB, 251 * MIB, 10)
    assert check_limits(WORKER, stats) == ["worker.zip is 251.00 MiB unzipped, over 250.00 MiB"]


def test_pip_failure_is_reported_and_nothing_is_cached(tmp_path: Path) -> None:
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("pydantic==0.0.0\n")
    cache = tmp_path / "cache"
    probe = Target("probe", (), ("pydantic",), ("manylinux2014_x86_64",), "3.12")
    with pytest.raises(PackageError, match="pip could not install probe's dependencies"):
        install_dependencies(probe, cache, constraints)
    assert list(cache.iterdir()) == []


def test_main_prints_sizes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--only", "edge", "--out", str(tmp_path)]) == 0  # the default trigger: viewer, 1 MB
    assert "edge.zip: " in capsys.readouterr().out
    assert (tmp_path / "edge.zip").is_file()


def test_placeholder_workers_are_flagged(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"workers": {"eu-west-2": "127.0.0.1:8001", "us-east-1": "a.lambda-url.us-east-1.on.aws"}})
    )
    assert placeholder_workers(config) == ["127.0.0.1:8001"]
