"""Counting sinks for engine benchmarks: bytes out and time to first byte, for Python writers and path writers.

Engines that write to a path (DuckDB ``COPY … TO``, polars ``sink_*``) write into a named pipe that a thread
drains into the same :class:`Meter`, so every engine's output is counted the same way and never hits a disk.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import resource
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PIPE_READ = 1 << 20


class Meter(io.RawIOBase):
    """A write-only, /dev/null-like file that counts bytes and notes when the first one arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.started = time.perf_counter()
        self.first_byte: float | None = None
        self.bytes = 0

    def writable(self) -> bool:
        """Always: this is a sink."""
        return True

    def write(self, data: Any, /) -> int:
        """Count ``data`` (bytes or any buffer) and drop it."""
        size = memoryview(data).nbytes
        if size and self.first_byte is None:
            self.first_byte = time.perf_counter()
        self.bytes += size
        return size

    def restart(self) -> None:
        """Start the clock now (after imports and setup)."""
        self.started = time.perf_counter()

    def result(self) -> dict[str, float | int | None]:
        """Wall time, TTFB and bytes since :meth:`restart`."""
        wall = time.perf_counter() - self.started
        ttfb = None if self.first_byte is None else self.first_byte - self.started
        return {"wall": wall, "ttfb": ttfb, "bytes": self.bytes}


def peak_rss_mb(pid: int | str = "self") -> float:
    """A process's peak resident set size so far (``VmHWM``), in MiB; this one's by default.

    Not ``ru_maxrss``: on Linux it survives fork and exec, so a child started by a process holding 600 MB reports
    at least 600 MB whatever it uses itself. Without ``/proc`` (not Linux), this process's ``ru_maxrss``.
    """
    status = Path(f"/proc/{pid}/status")
    if not status.exists() and pid == "self":
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for line in status.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextlib.contextmanager
def pipe_into(meter: Meter) -> Iterator[Path]:
    """A named pipe whose every byte goes to ``meter``: hand its path to an engine that writes files.

    The reader reopens the pipe after each writer closes it, because some engines (polars) open the output
    path more than once; it stops once the engine has returned.
    """
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        path = Path(folder) / "out"
        os.mkfifo(path)
        finished = threading.Event()

        def drain() -> None:
            while not finished.is_set():
                with path.open("rb", buffering=0) as pipe:
                    while chunk := pipe.read(PIPE_READ):
                        meter.write(chunk)

        thread = threading.Thread(target=drain, daemon=True)
        thread.start()
        try:
            yield path
        finally:
            finished.set()
            _release(path, thread)


def _release(path: Path, thread: threading.Thread) -> None:
    """Wake a reader blocked in ``open`` (no writer will come): open and close the write end until it ends."""
    while thread.is_alive():
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        except OSError as error:
            if error.errno != errno.ENXIO:  # ENXIO: no reader has the pipe open at this instant
                raise
        thread.join(0.01)
