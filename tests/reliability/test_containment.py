"""No request reads an object outside ``{prefix}{dataset}.parquet``: traversal, encoded separators, symlinks."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.reliability.checks import function_url_event
from tests.reliability.strategies import text
from worker.app import App
from worker.config import WorkerSettings
from worker.errors import DatasetNotFound
from worker.s3source import S3Source
from worker.source import LocalSource, object_name
from worker.tracing import NullTracer


@settings(max_examples=300, deadline=None)
@given(dataset=st.one_of(text, st.sampled_from(("../tree", "tree/../x", "a/b", "..", ".", "tree\x00", "TREE", "a.b"))))
def test_an_s3_key_is_always_the_prefix_plus_a_dataset_name(dataset: str) -> None:
    source = S3Source("bucket", "datasets/", client=None)
    try:
        key = source.key(dataset)
    except DatasetNotFound:
        return
    assert key == f"datasets/{dataset}.parquet"
    assert re.fullmatch(r"[a-z0-9-]+", dataset)
    assert object_name(dataset) == key.removeprefix("datasets/")


@pytest.fixture
def folder(tmp_path: Path, samples: Path) -> Path:
    inside = tmp_path / "datasets"
    inside.mkdir()
    shutil.copy(samples / "tree.parquet", inside / "tree.parquet")
    outside = tmp_path / "outside.parquet"
    shutil.copy(samples / "tree.parquet", outside)
    os.symlink(outside, inside / "escape.parquet")  # a link out of the folder: must not be served
    os.symlink(inside / "tree.parquet", inside / "alias.parquet")  # a link inside: fine
    os.symlink(tmp_path, inside / "dir.parquet")  # a directory named like a dataset
    os.symlink(inside / "loop.parquet", inside / "loop.parquet")  # a symlink loop
    return inside


@pytest.mark.parametrize(
    ("path", "status"),
    [
        pytest.param("/escape.csv", 404, id="symlink-out-of-the-folder"),
        pytest.param("/alias.csv", 200, id="symlink-inside-the-folder"),
        pytest.param("/dir.csv", 404, id="directory"),
        pytest.param("/loop.csv", 404, id="symlink-loop"),
        pytest.param("/..%2foutside.csv", 400, id="encoded-slash"),
        pytest.param("/%2e%2e%2foutside.csv", 400, id="encoded-dots"),
        pytest.param("/..%5coutside.csv", 400, id="encoded-backslash"),
        pytest.param("/datasets%2ftree.csv", 400, id="encoded-subfolder"),
        pytest.param("/%252e%252e%252foutside.csv", 400, id="double-encoded"),
        pytest.param("/outside%00.csv", 400, id="nul"),
    ],
)
def test_local_reads_stay_inside_the_folder(folder: Path, path: str, status: int) -> None:
    app = App(WorkerSettings(source=str(folder)), tracer=NullTracer())
    response = app.handle(function_url_event("GET", path, "limit=1", "identity"))
    body = b"".join(response.body)
    assert response.status == status
    if status != 200:
        assert json.loads(body)["status"] == status
        assert b"outside" not in body or b"not a dataset name" in body or b"dataset named" in body


def test_a_symlink_out_of_the_folder_is_refused_by_the_source_itself(folder: Path) -> None:
    with pytest.raises(DatasetNotFound):
        LocalSource(folder).stat("escape")
