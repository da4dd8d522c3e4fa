"""End-to-end fixtures: sample datasets served by the real local stack (edge + cache + worker) over HTTP, from a
local folder and from a moto S3 server on loopback, and an independent oracle (DuckDB) for the expected rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from dataset_downloads.sample import SAMPLES, scaled, write_samples
from dataset_downloads.server import start_server
from tests.support.s3 import (
    CREDENTIALS,
    REGION,
    MotoServer,
    moto_server,  # noqa: F401  # the session fixture, for this directory
    s3_client,
)
from worker.app import App
from worker.config import WorkerSettings
from worker.source import source_from_url

# A fifth of the samples: title-boundary keeps 15 row groups (of 4,000 rows) sorted by organisation-entity.
FACTOR = 0.2


@dataclass(frozen=True)
class Served:
    """A running local stack: its base URL, where the datasets came from, and the S3 bucket if any."""

    base_url: str
    folder: Path
    mode: str
    bucket: str | None = None


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample datasets, written once per session."""
    folder = tmp_path_factory.mktemp("e2e-samples")
    write_samples(folder, scaled(SAMPLES, FACTOR))
    return folder


def _serve(source: str, app_source: Any, folder: Path, mode: str, bucket: str | None = None) -> Iterator[Served]:
    app = App(WorkerSettings(source=source), source=app_source)
    base_url, stop = start_server(source, worker=app.handle)
    try:
        yield Served(base_url, folder, mode, bucket)
    finally:
        stop()
        app.tracer.close()


@pytest.fixture(scope="module")
def s3_env(moto_server: MotoServer) -> Iterator[MotoServer]:  # noqa: F811  # the fixture imported above
    """Dummy credentials and the moto endpoint in the environment (the /source/ reader uses them)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in CREDENTIALS.items():
            patch.setenv(name, value)
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        patch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint_url)
        patch.delenv("AWS_PROFILE", raising=False)
        yield moto_server


def upload(server: MotoServer, folder: Path) -> str:
    """A versioned bucket holding every sample under ``datasets/``; returns its name."""
    client = s3_client(server.endpoint_url)
    bucket = f"e2e-{folder.name.lower().replace('_', '-')}"[:60]
    client.create_bucket(Bucket=bucket)
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for path in sorted(folder.glob("*.parquet")):
        client.upload_file(str(path), bucket, f"datasets/{path.name}")
    return bucket


@pytest.fixture(scope="module", params=["local", "s3"])
def served(request: pytest.FixtureRequest, samples: Path) -> Iterator[Served]:
    """The stack over the local folder and over moto S3: every end-to-end test runs on both."""
    if request.param == "local":
        yield from _serve(str(samples), None, samples, "local")
        return
    server: MotoServer = request.getfixturevalue("s3_env")
    bucket = upload(server, samples)
    url = f"s3://{bucket}/datasets/"
    source = source_from_url(url, s3_client=s3_client(server.endpoint_url))
    yield from _serve(url, source, samples, "s3", bucket)


class Oracle:
    """Expected rows computed independently of the worker: DuckDB over the source Parquet file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def rows(self, dataset: str, where: str = "", columns: str = "*", limit: int | None = None) -> list[dict[str, Any]]:
        """Rows in source order as Python values (dates as ``datetime.date``)."""
        path = str(self.folder / f"{dataset}.parquet")
        sql = f"SELECT {columns} FROM read_parquet(?) {('WHERE ' + where) if where else ''}"
        sql += f" LIMIT {limit}" if limit is not None else ""
        connection = duckdb.connect()
        connection.execute("SET preserve_insertion_order = true")
        cursor = connection.execute(sql, [path])
        names = [d[0] for d in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def organisations(self, dataset: str) -> list[tuple[int, int]]:
        """(organisation-entity, row count) from the most to the least common."""
        path = str(self.folder / f"{dataset}.parquet")
        sql = 'SELECT "organisation-entity", count(*) n FROM read_parquet(?) GROUP BY 1 ORDER BY n DESC, 1'
        return [(int(o), int(n)) for o, n in duckdb.connect().execute(sql, [path]).fetchall()]


@pytest.fixture(scope="session")
def oracle(samples: Path) -> Oracle:
    """The DuckDB oracle over the session's samples."""
    return Oracle(samples)
