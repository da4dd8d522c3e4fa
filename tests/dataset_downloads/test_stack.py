"""The whole local path with the real edge and the real worker: folder and moto S3 sources."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import requests

from dataset_downloads.server import start_server
from dataset_downloads.stack import edge_config
from tests.dataset_downloads.local_stack import small_samples
from tests.dataset_downloads.test_s3local import local_s3

__all__ = ["local_s3", "small_samples"]  # fixtures used by name


@pytest.fixture(params=[pytest.param("folder", id="folder"), pytest.param("s3", id="s3")])
def real_stack(request: pytest.FixtureRequest, small_samples: Path) -> Iterator[str]:
    """The real edge and worker serving the small samples from a folder, then from moto S3."""
    source = str(small_samples) if request.param == "folder" else request.getfixturevalue("local_s3").url
    base_url, stop = start_server(source)
    try:
        yield base_url
    finally:
        stop()


def test_filtered_csv_matches_the_source(real_stack: str, small_samples: Path) -> None:
    table = pq.read_table(small_samples / "title-boundary.parquet", columns=["entity", "organisation-entity"])
    organisation = table["organisation-entity"][0].as_py()
    expected = table.filter(pc.equal(table["organisation-entity"], organisation))["entity"].to_pylist()
    url = f"{real_stack}/Title-Boundary.csv?organization-entity={organisation}&fields=entity"
    first = requests.get(url, timeout=30)
    assert first.status_code == 200, first.text
    assert first.headers["Content-Encoding"] == "gzip"  # requests asks for gzip and decodes it
    rows = list(csv.DictReader(io.StringIO(first.text)))
    assert [int(row["entity"]) for row in rows] == expected
    second = requests.get(url, timeout=30)
    assert (second.headers["X-Cache"], second.content) == ("Hit from cloudfront", first.content)


def test_errors_and_head(real_stack: str) -> None:
    missing = requests.get(f"{real_stack}/no-such-dataset.csv", timeout=30)
    assert (missing.status_code, missing.headers["Content-Type"]) == (404, "application/problem+json")
    head = requests.head(f"{real_stack}/tree.ndjson?limit=2", timeout=30)
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["Content-Type"] == "application/x-ndjson"


def test_edge_config_is_valid_for_the_edge() -> None:
    from edge.config import EdgeConfig

    config = EdgeConfig.from_dict(edge_config("127.0.0.1:8000"))
    assert config.workers[config.default_worker_region] == "127.0.0.1:8000"
