"""infra/archive.py: the same files make the same zip bytes, with explicit modes and no build noise."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from infra.archive import FIXED_DATE_TIME, collect, is_executable, write_zip


def make_tree(root: Path) -> None:
    (root / "pkg" / "__pycache__").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "b.py").write_text("B = 2\n")
    (root / "pkg" / "a.pyc").write_bytes(b"\x00")
    (root / "pkg" / "__pycache__" / "b.cpython-311.pyc").write_bytes(b"\x00")
    (root / "pkg" / "run").write_text("#!/bin/sh\nexec true\n")


def test_collect_skips_bytecode_and_named_folders(tmp_path: Path) -> None:
    make_tree(tmp_path)
    files = collect(tmp_path / "pkg", "pkg/", skip=("__pycache__",))
    assert sorted(files) == ["pkg/__init__.py", "pkg/b.py", "pkg/run"]


def test_zip_is_deterministic_sorted_and_moded(tmp_path: Path) -> None:
    make_tree(tmp_path)
    files = collect(tmp_path / "pkg", "pkg/", skip=("__pycache__",))
    first = write_zip(tmp_path / "one.zip", files, executables=["pkg/run"])
    os.utime(tmp_path / "pkg" / "b.py", (1_000_000_000, 1_000_000_000))
    (tmp_path / "pkg" / "b.py").chmod(0o600)
    second = write_zip(tmp_path / "two.zip", dict(reversed(files.items())), executables=["pkg/run"])
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    assert (first.entries, first.unzipped_bytes) == (3, len("B = 2\n") + len("#!/bin/sh\nexec true\n"))
    assert second.zipped_bytes == first.zipped_bytes
    with zipfile.ZipFile(first.path) as archive:
        infos = archive.infolist()
    assert [info.filename for info in infos] == sorted(files)
    assert {info.date_time for info in infos} == {FIXED_DATE_TIME}
    assert {info.filename: info.external_attr >> 16 for info in infos} == {
        "pkg/__init__.py": 0o100644,
        "pkg/b.py": 0o100644,
        "pkg/run": 0o100755,
    }
    assert is_executable(first.path, "pkg/run")
    assert not is_executable(first.path, "pkg/b.py")
