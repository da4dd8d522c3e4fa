"""Fixtures for the worker tests: the moto S3 server and planning-like datasets on disk and in S3."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config

from tests.support.parquet import parquet_bytes, planning_table
from tests.support.s3 import LoopbackServer, moto_s3, moto_server, s3_client  # noqa: F401  # fixtures re-exported here

# The sorted dataset: 20 row groups of 1,000 rows, one organisation per row group.
SORTED_ROWS = 20_000
SORTED_ROW_GROUP = 1_000


@pytest.fixture(scope="session")
def sorted_bytes() -> bytes:
    """A Parquet file sorted by organisation-entity: row group ``i`` holds organisation ``600000 + i`` only."""
    table = planning_table(SORTED_ROWS, rows_per_organisation=SORTED_ROW_GROUP)
    return parquet_bytes(table, row_group_size=SORTED_ROW_GROUP)


@pytest.fixture
def data_folder(tmp_path: Path, sorted_bytes: bytes) -> Path:
    """A local dataset folder holding ``sorted.parquet``."""
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "sorted.parquet").write_bytes(sorted_bytes)
    return folder


class StatusServer(LoopbackServer):
    """An S3 stand-in on loopback that answers every request with one error status (and S3's error XML)."""

    def __init__(self) -> None:
        self.status = 500
        self.code = "InternalError"
        super().__init__(self._app, name="status-s3")

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        body = f"<Error><Code>{self.code}</Code><Message>test</Message></Error>".encode()
        start_response(f"{self.status} Error", [("Content-Type", "application/xml")])
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]

    def client(self) -> Any:
        """A client with one attempt, so a failure is reported at once."""
        config = Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=2, read_timeout=5)
        return s3_client(self.endpoint_url, config=config)


@pytest.fixture(scope="session")
def status_server() -> Iterator[StatusServer]:
    """A loopback server that fails every request with ``status_server.status`` / ``.code``."""
    server = StatusServer()
    server.start()
    yield server
    server.stop()
