"""Fixtures for the edge tests: a three-region configuration, on disk and in memory, and fake role credentials.

The sample origin-request events carry the eu-west-2 worker as the origin CloudFront chose (the one its origin
access control signs); the configuration's default is us-east-1, so routing elsewhere makes the edge sign.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.config import (
    ACCESS_KEY_ENV,
    CONFIG_ENV,
    REGION_ENV,
    SECRET_KEY_ENV,
    SESSION_TOKEN_ENV,
    EdgeConfig,
    load_config,
)

EU_WORKER = "eu2abcdefghijklmnopqrstuvwxyz0123.lambda-url.eu-west-2.on.aws"
US_WORKER = "us1abcdefghijklmnopqrstuvwxyz0123.lambda-url.us-east-1.on.aws"
AP_WORKER = "ap2abcdefghijklmnopqrstuvwxyz0123.lambda-url.ap-southeast-2.on.aws"
CONFIG_DOCUMENT = {
    "workers": {"eu-west-2": EU_WORKER, "us-east-1": US_WORKER, "ap-southeast-2": AP_WORKER},
    "default_worker_region": "us-east-1",
    "source_base_url": "https://data.example.org/source/",
    "cache": {"unfiltered_max_age": 7200, "filtered_max_age": 600, "error_max_age": 30},
}


# Fake credentials in the shape Lambda gives a role (a session token with '/', '+' and '='): never real ones.
FAKE_ACCESS_KEY = "ASIAEDGEFAKEEXAMPLE0"
FAKE_SECRET_KEY = "edge/Fake+Secret/Key/For/Tests/0123456789"
FAKE_SESSION_TOKEN = "IQoJb3JpZ2luX2VjEFAKE//////////wEaCWV1LXdlc3QtMiJHMEUCIQ+fake/token=="


@pytest.fixture(autouse=True)
def role_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The execution role's credentials as Lambda sets them: fake ones, for every edge test (and never the
    developer's own)."""
    monkeypatch.setenv(ACCESS_KEY_ENV, FAKE_ACCESS_KEY)
    monkeypatch.setenv(SECRET_KEY_ENV, FAKE_SECRET_KEY)
    monkeypatch.setenv(SESSION_TOKEN_ENV, FAKE_SESSION_TOKEN)


@pytest.fixture
def config() -> EdgeConfig:
    """The test configuration, validated."""
    return EdgeConfig.from_dict(CONFIG_DOCUMENT)


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The test configuration written to a file that ``DATASET_DOWNLOADS_EDGE_CONFIG`` names; the cache is
    cleared before and after so no other test sees it. ``AWS_REGION`` is eu-west-2."""
    path = tmp_path / "edge-config.json"
    path.write_text(json.dumps(CONFIG_DOCUMENT), encoding="utf-8")
    monkeypatch.setenv(CONFIG_ENV, str(path))
    monkeypatch.setenv(REGION_ENV, "eu-west-2")
    load_config.cache_clear()
    yield path
    load_config.cache_clear()
