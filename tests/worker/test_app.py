"""The worker's HTTP handler: what decides the ETag, and a gzip download's bytes."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dataset_downloads.sample import SAMPLES, scaled, write_samples
from worker import app as app_module
from worker.app import App
from worker.compress import gzip_chunks
from worker.config import WorkerSettings
from worker.response import Response
from worker.tracing import NullTracer


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("app-samples")
    write_samples(directory, scaled(SAMPLES[1:2], 0.05))
    return directory


def _response(
    folder: Path, method: str = "GET", query: str = "", level: int = 1, headers: dict[str, str] | None = None
) -> Response:
    """The worker's answer to ``method /tree.csv?query`` with ``headers``, gzip at ``level``."""
    app = App(WorkerSettings(source=str(folder), gzip_level=level), tracer=NullTracer())
    event = {
        "rawPath": "/tree.csv",
        "rawQueryString": query,
        "headers": headers or {},
        "requestContext": {"http": {"method": method}},
    }
    return app.handle(event)


def _etag(folder: Path, level: int, accept: str) -> str:
    response = _response(folder, "HEAD", "limit=10", level, {"accept-encoding": accept})
    assert response.status == 200
    return response.headers["etag"]


def test_the_gzip_level_is_part_of_the_etag(folder: Path) -> None:
    # level 1 (ISA-L) and level 6 (zlib) compress the same body to different bytes: one tag would lie
    assert _etag(folder, 1, "gzip") != _etag(folder, 6, "gzip")


def test_the_gzip_level_does_not_change_an_identity_etag(folder: Path) -> None:
    assert _etag(folder, 1, "identity") == _etag(folder, 6, "identity")


def _get(folder: Path, query: str, **headers: str) -> int:
    return _response(folder, query=query, headers=headers).status


@pytest.mark.parametrize(
    ("query", "status"),
    [
        pytest.param("limit=3", 304, id="valid-request"),
        pytest.param("fields=colour", 400, id="unknown-column-is-still-a-400"),
    ],
)
def test_if_none_match_star_answers_only_a_valid_request(folder: Path, query: str, status: int) -> None:
    assert _get(folder, query, **{"if-none-match": "*"}) == status


def test_a_stale_tag_gets_the_download(folder: Path) -> None:
    assert _get(folder, "limit=3", **{"if-none-match": '"not-this-one"'}) == 200


def _body(folder: Path, accept: str) -> bytes:
    response = _response(folder, headers={"accept-encoding": accept})
    assert response.status == 200
    return b"".join(response.body)


@pytest.mark.parametrize("at_once", [1, 2])
def test_a_gzip_download_is_the_identity_download_compressed_in_one_piece(
    folder: Path, at_once: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two at once the chunks are rendered on a thread ahead of the compressor: the same bytes as one at a time.
    monkeypatch.setattr(app_module, "process_at_once", lambda: at_once)
    identity = _body(folder, "identity")
    gzipped = _body(folder, "gzip")
    assert b"".join(gzip_chunks([identity])) == gzipped
    assert gzip.decompress(gzipped) == identity


def test_chunks_rendered_ahead_come_in_order_from_another_thread() -> None:
    threads: list[int] = []

    def chunks() -> Iterator[bytes]:
        for number in range(5):
            threads.append(threading.get_ident())
            yield bytes([number]) * 1000

    assert list(app_module._rendered_ahead(chunks())) == [bytes([number]) * 1000 for number in range(5)]
    assert threading.get_ident() not in threads
