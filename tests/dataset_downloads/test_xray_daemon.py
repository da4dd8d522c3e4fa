"""dataset_downloads/xray_daemon.py: the daemon protocol, the bounded store, persistence across processes."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from dataset_downloads.xray_daemon import SegmentStore, load_documents, parse_datagram, start_daemon

HEADER = b'{"format":"json","version":1}\n'


@pytest.mark.parametrize(
    "datagram",
    [
        pytest.param(b'{"trace_id":"1-a-b"}', id="no-header"),
        pytest.param(b'{"format":"json","version":2}\n{"trace_id":"1-a-b"}', id="other-version"),
        pytest.param(HEADER + b"[1]", id="not-an-object"),
        pytest.param(HEADER + b'{"id":"x"}', id="no-trace-id"),
        pytest.param(HEADER + b"\xff", id="not-utf8"),
        pytest.param(b"", id="empty"),
    ],
)
def test_parse_datagram_rejects(datagram: bytes) -> None:
    assert parse_datagram(datagram) is None


def test_store_keeps_the_most_recent_traces() -> None:
    store = SegmentStore(max_traces=2)
    for trace_id in ("1-a", "1-b", "1-a", "1-c"):
        store.add({"trace_id": trace_id})
    assert store.trace_ids() == ["1-a", "1-c"]
    assert len(store.trace("1-a")) == 2


def test_start_daemon_persists_what_it_receives(tmp_path: Path) -> None:
    address, stop = start_daemon("127.0.0.1", 0, tmp_path)
    host, port = address.split(":")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(b"junk", (host, int(port)))
        sender.sendto(HEADER + b'{"trace_id":"1-a-b","id":"c","name":"w"}', (host, int(port)))
    stop()  # the stop datagram queues behind ours: both are handled before the thread exits
    stop()
    assert load_documents(tmp_path) == [{"trace_id": "1-a-b", "id": "c", "name": "w"}]
