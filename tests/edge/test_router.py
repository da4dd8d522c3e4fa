from __future__ import annotations

from dataclasses import replace

import pytest

from edge.config import EdgeConfig
from edge.contract import parse_request
from edge.router import Redirect, Worker, choose_region, route

WORKERS = {"eu-west-1": "a", "eu-central-1": "b", "us-east-1": "c", "us-west-2": "d", "ap-southeast-2": "e"}


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        pytest.param("eu-west-1", "eu-west-1", id="configured"),
        pytest.param("eu-west-2", "eu-west-1", id="same-geography-closer-name"),
        pytest.param("eu-central-2", "eu-central-1", id="same-geography-central"),
        pytest.param("eu-north-1", "eu-central-1", id="same-geography-first-alphabetically"),
        pytest.param("us-east-2", "us-east-1", id="us"),
        pytest.param("ap-northeast-1", "ap-southeast-2", id="ap"),
        pytest.param("sa-east-1", "us-west-2", id="other-geography-default"),
        pytest.param(None, "us-west-2", id="unknown"),
    ],
)
def test_choose_region(current: str | None, expected: str) -> None:
    assert choose_region(WORKERS, current, "us-west-2") == expected


@pytest.mark.parametrize(
    ("path", "query", "expected"),
    [
        pytest.param("/tree.parquet", "", Redirect("https://data.example.org/source/tree.parquet", 7200), id="whole"),
        pytest.param("/tree.parquet", "limit=5", Worker("eu-west-2", "eu"), id="limited"),
        pytest.param("/tree.parquet", "fields=name", Worker("eu-west-2", "eu"), id="projected"),
        pytest.param("/tree.parquet", "entity=1", Worker("eu-west-2", "eu"), id="filtered"),
        pytest.param("/tree.csv", "", Worker("eu-west-2", "eu"), id="csv-whole"),
    ],
)
def test_route(config: EdgeConfig, path: str, query: str, expected: Redirect | Worker) -> None:
    decision = route(parse_request("GET", path, query), config, "eu-west-2")
    if isinstance(expected, Worker):
        assert isinstance(decision, Worker)
        assert decision.region == expected.region
        assert decision.domain == config.workers[expected.region]
        assert decision.decision == "worker:eu-west-2"
    else:
        assert decision == expected
        assert decision.decision == "redirect"


def test_a_path_base_url_gives_a_relative_redirect(config: EdgeConfig) -> None:
    local = replace(config, source_base_url="/source/")
    assert route(parse_request("HEAD", "/Tree.PARQUET", ""), local, None) == Redirect("/source/tree.parquet", 7200)
