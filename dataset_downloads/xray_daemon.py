"""A local stand-in for the X-Ray daemon: receives the segment documents the worker sends over UDP and keeps them.

Each datagram is the daemon protocol: a JSON header line ``{"format":"json","version":1}``, a newline, then one
segment document (a whole segment with nested subsegments, or one subsegment sent on its own). Documents are
kept in a bounded in-memory store and appended to ``segments.jsonl`` in a folder, so ``dataset-downloads
traces`` in another process can read them. Loopback only: it binds where it is told, 127.0.0.1 by default.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 2000
DEFAULT_FOLDER = Path(".local/traces")
SEGMENTS_FILE = "segments.jsonl"
MAX_FILE_BYTES = 64 * 1024 * 1024  # then the file is rotated to segments.jsonl.1 (one generation kept)
MAX_TRACES = 1000
_MAX_DATAGRAM = 65535

Document = dict[str, Any]
log = logging.getLogger(__name__)


def parse_datagram(data: bytes) -> Document | None:
    """The segment document in one daemon-protocol datagram, or None if it is not one.

    >>> parse_datagram(b'{"format":"json","version":1}\\n{"trace_id":"1-a-b","id":"c","name":"w"}')["name"]
    'w'
    """
    try:
        header, _, body = data.decode("utf-8").partition("\n")
        if json.loads(header) != {"format": "json", "version": 1}:
            return None
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(document, dict) or not isinstance(document.get("trace_id"), str):
        return None
    return document


class SegmentStore:
    """The most recent traces' documents by trace id (oldest traces dropped past ``max_traces``)."""

    def __init__(self, max_traces: int = MAX_TRACES) -> None:
        self._traces: OrderedDict[str, list[Document]] = OrderedDict()
        self._max = max_traces
        self._changed = threading.Condition()

    def add(self, document: Document) -> None:
        """Keep one document under its trace id."""
        with self._changed:
            trace_id = document["trace_id"]
            self._traces.setdefault(trace_id, []).append(document)
            self._traces.move_to_end(trace_id)
            while len(self._traces) > self._max:
                self._traces.popitem(last=False)
            self._changed.notify_all()

    def trace(self, trace_id: str) -> list[Document]:
        """The documents received for ``trace_id``, in arrival order."""
        with self._changed:
            return list(self._traces.get(trace_id, ()))

    def trace_ids(self) -> list[str]:
        """Known trace ids, most recently updated last."""
        with self._changed:
            return list(self._traces)

    def wait_for(self, trace_id: str, count: int = 1, timeout: float = 5.0) -> list[Document]:
        """Block until ``trace_id`` has ``count`` documents or ``timeout`` passes; return what there is."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._traces.get(trace_id, ())) >= count, timeout)
            return list(self._traces.get(trace_id, ()))


class XRayDaemon:
    """A UDP listener thread feeding a :class:`SegmentStore` and, if ``folder`` is given, a JSONL file."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, folder: Path | None = None) -> None:
        self.store = SegmentStore()
        self.folder = folder
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind((host, port))
        self.address: tuple[str, int] = self._socket.getsockname()[:2]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="xray-daemon", daemon=True)
        self._file_lock = threading.Lock()

    @property
    def address_string(self) -> str:
        """``host:port``, the form ``AWS_XRAY_DAEMON_ADDRESS`` takes."""
        return f"{self.address[0]}:{self.address[1]}"

    def start(self) -> XRayDaemon:
        """Start receiving in a background thread."""
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop receiving and release the port (idempotent)."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        with contextlib.suppress(OSError):  # wake the blocking recv with an empty datagram to ourselves
            self._socket.sendto(b"", self.address)
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._socket.close()

    def _serve(self) -> None:
        while True:
            try:
                data = self._socket.recv(_MAX_DATAGRAM)
            except OSError:
                return
            if not data and self._stopping.is_set():
                return  # stop()'s wake-up datagram: everything sent before it has been handled
            document = parse_datagram(data)
            if document is not None:
                self._persist(document)  # first, so a document seen in the store is on disk too
                self.store.add(document)

    def _persist(self, document: Document) -> None:
        if self.folder is None:
            return
        path = self.folder / SEGMENTS_FILE
        try:
            with self._file_lock:
                if path.exists() and path.stat().st_size > MAX_FILE_BYTES:
                    path.replace(path.with_name(SEGMENTS_FILE + ".1"))
                with path.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(document, separators=(",", ":")) + "\n")
        except OSError:
            log.warning("could not write %s", path, exc_info=True)


def start_daemon(
    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, folder: Path | None = DEFAULT_FOLDER
) -> tuple[str, Callable[[], None]]:
    """Start a daemon; returns its ``host:port`` (for ``AWS_XRAY_DAEMON_ADDRESS``) and a function to stop it."""
    daemon = XRayDaemon(host, port, folder).start()
    return daemon.address_string, daemon.stop


def load_documents(folder: Path = DEFAULT_FOLDER) -> list[Document]:
    """Every document persisted under ``folder``, oldest first (unreadable lines are skipped)."""
    documents: list[Document] = []
    for path in (folder / (SEGMENTS_FILE + ".1"), folder / SEGMENTS_FILE):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            try:
                document = json.loads(line)
            except ValueError:
                continue
            if isinstance(document, dict) and isinstance(document.get("trace_id"), str):
                documents.append(document)
    return documents
