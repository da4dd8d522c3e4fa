from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from edge.config import (
    PACKAGED_CONFIG,
    CacheConfig,
    ConfigError,
    EdgeConfig,
    check_domain,
    current_region,
    load_config,
    parse_config,
)
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
    config = EdgeConfig.from_dict({"workers": {"us-east-1": "a.org"}, "default_worker_region": "us-east-1"})
    cache = config.cache
    assert (cache.unfiltered_max_age, cache.filtered_max_age, cache.error_max_age) == (3600, 300, 60)
    assert config.source_base_url == "/source/"


def test_the_config_is_frozen_and_compares_by_value() -> None:
    config = EdgeConfig.from_dict(CONFIG_DOCUMENT)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.default_worker_region = "eu-west-2"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.cache.error_max_age = 1  # type: ignore[misc]
    assert config == parse_config(json.dumps(CONFIG_DOCUMENT))
    assert config.cache == CacheConfig(7200, 600, 30)


def test_the_config_keeps_its_own_copy_of_the_workers() -> None:
    workers = {"us-east-1": "A.Example.org"}
    config = EdgeConfig(workers=workers, default_worker_region="us-east-1")
    workers["eu-west-2"] = "b.example.org"
    assert config.workers == {"us-east-1": "a.example.org"}


def test_replace_checks_again() -> None:
    config = EdgeConfig.from_dict(CONFIG_DOCUMENT)
    moved = dataclasses.replace(config, workers={"eu-west-2": "127.0.0.1:8123"}, default_worker_region="eu-west-2")
    assert moved.workers == {"eu-west-2": "127.0.0.1:8123"}
    with pytest.raises(ConfigError, match="not among workers"):
        dataclasses.replace(config, default_worker_region="eu-west-1")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"default_worker_region": "eu-west-1"}, "not among workers", id="default-not-a-worker"),
        pytest.param({"workers": {}}, "at least 1", id="no-workers"),
        pytest.param({"workers": ["us-east-1"]}, "at least 1", id="workers-not-an-object"),
        pytest.param({"workers": {"us-east-1": 1}}, "hostname", id="domain-not-a-string"),
        pytest.param({"workers": {"Europe": "a.example.org"}}, "not an AWS region", id="bad-region"),
        pytest.param({"workers": {"us-east-1": "https://a.example.org"}}, "hostname", id="url-not-domain"),
        pytest.param({"workers": {"us-east-1": "a.example.org/path"}}, "hostname", id="domain-with-path"),
        pytest.param({"workers": {"us-east-1": "a.example.org:70000"}}, "hostname", id="bad-port"),
        pytest.param({"workers": {"us-east-1": "-a.example.org"}}, "hostname", id="bad-label"),
        pytest.param({"source_base_url": "/source"}, "ending in '/'", id="base-without-slash"),
        pytest.param({"source_base_url": "http://data.example.org/"}, "https", id="plain-http-base"),
        pytest.param({"source_base_url": None}, "ending in '/'", id="base-not-a-string"),
        pytest.param({"default_worker_region": ["us-east-1"]}, "not among workers", id="default-not-a-string"),
        pytest.param({"cache": {"error_max_age": -1}}, "greater than or equal to 0", id="negative-ttl"),
        pytest.param({"cache": {"error_max_age": 31_536_001}}, "at most 31536000", id="ttl-over-a-year"),
        pytest.param({"cache": {"error_max_age": "60"}}, "whole number", id="ttl-a-string"),
        pytest.param({"cache": {"error_max_age": 1.5}}, "whole number", id="ttl-a-float"),
        pytest.param({"cache": {"error_max_age": True}}, "whole number", id="ttl-a-bool"),
        pytest.param({"cache": {"error_max_agee": 60}}, "unknown key", id="unknown-cache-key"),
        pytest.param({"cache": None}, "JSON object", id="cache-not-an-object"),
        pytest.param({"surprise": 1}, "unknown key", id="unknown-key"),
    ],
)
def test_invalid_configs_are_refused(change: dict[str, Any], message: str) -> None:
    document = {**CONFIG_DOCUMENT, "workers": {"us-east-1": "a.example.org"}, "default_worker_region": "us-east-1"}
    with pytest.raises(ConfigError, match=message):
        parse_config(json.dumps({**document, **change}))


@pytest.mark.parametrize(
    ("document", "key", "message"),
    [
        pytest.param(b"{", "", "not JSON", id="not-json"),
        pytest.param(b"\xff", "", "not JSON", id="not-utf8"),
        pytest.param(b"[]", "", "JSON object", id="not-an-object"),
        pytest.param(b'{"default_worker_region": "us-east-1"}', "workers", "required", id="no-workers-key"),
        pytest.param(b'{"workers": {"us-east-1": "a.org"}}', "default_worker_region", "required", id="no-default"),
        pytest.param(
            b'{"workers": {"Europe": "a.org"}, "default_worker_region": "Europe"}',
            "workers.Europe",
            "not an AWS region",
            id="key-names-the-region",
        ),
        pytest.param(
            b'{"workers": {"us-east-1": "a.org"}, "default_worker_region": "us-east-1", "cache": {"x": 1}}',
            "cache.x",
            "unknown key; the known keys are unfiltered_max_age, filtered_max_age, error_max_age",
            id="key-names-the-cache-entry",
        ),
    ],
)
def test_config_errors_name_the_key(document: bytes, key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_config(document)
    assert caught.value.key == key
    assert isinstance(caught.value, ValueError)


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
