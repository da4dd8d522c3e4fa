"""Deterministic zip archives for Lambda: sorted entries, fixed timestamps, explicit file modes.

The same inputs give the same bytes, so an unchanged build does not publish a new Lambda version (SAM's
AutoPublishAlias hashes the code) and two builds can be compared with ``cmp``.
"""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

# The earliest timestamp a zip entry can hold: the build's wall-clock time never reaches the archive.
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_REGULAR = 0o100644
_EXECUTABLE = 0o100755


@dataclass(frozen=True)
class ArchiveStats:
    """What Lambda's size quotas are measured on: the zip file's size and the sum of its files' sizes."""

    path: Path
    zipped_bytes: int
    unzipped_bytes: int
    entries: int


def collect(root: Path, prefix: str = "", skip: Iterable[str] = ()) -> dict[str, Path]:
    """Every regular file under ``root`` as ``{arcname: path}``, arcnames POSIX and under ``prefix``.

    ``skip`` holds file or directory names left out wherever they occur (``__pycache__``, ``.ruff_cache``).
    Example: ``collect(Path("edge"), "edge/")`` → ``{"edge/contract.py": Path("edge/contract.py"), …}``.
    """
    skipped = set(skip)
    files: dict[str, Path] = {}
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = [d for d in subdirs if d not in skipped]
        for name in names:
            path = Path(directory, name)
            if name in skipped or name.endswith(".pyc") or not path.is_file():
                continue
            files[prefix + path.relative_to(root).as_posix()] = path
    return files


def write_zip(
    out: Path, files: Mapping[str, Path], executables: Iterable[str] = (), compresslevel: int = 9
) -> ArchiveStats:
    """Write ``files`` (``{arcname: path}``) to ``out`` in arcname order; ``executables`` get mode 0755.

    Every other entry is 0644 whatever its mode on disk, so a checkout's umask cannot change the artifact.
    """
    executable = set(executables)
    unzipped = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as archive:
        for arcname in sorted(files):
            data = files[arcname].read_bytes()
            info = zipfile.ZipInfo(arcname, date_time=FIXED_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so the mode bits below are honoured when Lambda extracts the zip
            info.external_attr = (_EXECUTABLE if arcname in executable else _REGULAR) << 16
            archive.writestr(info, data, compresslevel=compresslevel)
            unzipped += len(data)
    return ArchiveStats(out, out.stat().st_size, unzipped, len(files))


def is_executable(archive: Path, arcname: str) -> bool:
    """Whether ``arcname`` in the zip at ``archive`` carries an owner-executable mode bit."""
    with zipfile.ZipFile(archive) as zf:
        mode = zf.getinfo(arcname).external_attr >> 16
    return bool(mode & stat.S_IXUSR)
