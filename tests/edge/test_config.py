from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from edge.config import PACKAGED_CONFIG, EdgeConfig, check_domain, current_region, load_config, parse_config
from tests.edge.conftest import CONFIG_DOCUMENT, EU_WORKER


def test_the_packaged_placeholder_is_valid() -> None:
    config = parse_config(Path(PACKAGED_CONFIG).read_bytes())
    assert config.default_worker_region in config.workers
    assert config.source_base_url.endswith("/")


def test_the_environment_names_another_file_read_once(config_file: Path) -> None:
    first = load_config()
    assert first.workers["eu-west-2"] == EU_WORKER
    assert first.cache.error_max_age == 30
    config_file.write_text(json.dumps({**CONFIG_DOCUMENT, "default_worker_region": "eu-west-2"}), encoding="utf-8")
    assert load_config() is first  # cached per process
    load_config.cache_clear()
    assert load_config().default_worker_region == "eu-west-2"


def test_the_region_comes_from_aws_region(config_file: Path) -> None:
    assert current_region() == "eu-west-2"


def test_cache_defaults_follow_the_design() -> None:
    config = EdgeConfig.model_validate({"workers": {"us-east-1": "a.org"}, "default_worker_region": "us-east-1"})
    cache = config.cache
    assert (cache.unfiltered_max_age, cache.filtered_max_age, cache.error_max_age) == (3600, 300, 60)
    assert config.source_base_url == "/source/"


def test_the_config_is_frozen() -> None:
    config = EdgeConfig.model_validate(CONFIG_DOCUMENT)
    with pytest.raises(ValidationError):
        config.default_worker_region = "eu-west-2"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"default_worker_region": "eu-west-1"}, "not among workers", id="default-not-a-worker"),
        pytest.param({"workers": {}}, "at least 1", id="no-workers"),
        pytest.param({"workers": {"Europe": "a.example.org"}}, "not an AWS region", id="bad-region"),
        pytest.param({"workers": {"us-east-1": "https://a.example.org"}}, "hostname", id="url-not-domain"),
        pytest.param({"workers": {"us-east-1": "a.example.org/path"}}, "hostname", id="domain-with-path"),
        pytest.param({"workers": {"us-east-1": "a.example.org:70000"}}, "hostname", id="bad-port"),
        pytest.param({"workers": {"us-east-1": "-a.example.org"}}, "hostname", id="bad-label"),
        pytest.param({"source_base_url": "/source"}, "ending in '/'", id="base-without-slash"),
        pytest.param({"source_base_url": "http://data.example.org/"}, "https", id="plain-http-base"),
        pytest.param({"cache": {"error_max_age": -1}}, "greater than or equal", id="negative-ttl"),
        pytest.param({"surprise": 1}, "Extra inputs", id="unknown-key"),
    ],
)
def test_invalid_configs_are_refused(change: dict[str, Any], message: str) -> None:
    document = {**CONFIG_DOCUMENT, "workers": {"us-east-1": "a.example.org"}, "default_worker_region": "us-east-1"}
    with pytest.raises(ValidationError, match=message):
        parse_config(json.dumps({**document, **change}))


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        pytest.param("127.0.0.1:8001", "127.0.0.1:8001", id="loopback-with-port"),
        pytest.param("localhost:9000", "localhost:9000", id="localhost"),
        pytest.param("ABC.lambda-url.eu-west-2.on.aws", "abc.lambda-url.eu-west-2.on.aws", id="folded"),
    ],
)
def test_domains_are_hostname_and_port(domain: str, expected: str) -> None:
    assert check_domain(domain) == expected
