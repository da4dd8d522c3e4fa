"""infra/samconfig.toml: every environment deploys every stack with parameters its template accepts."""

from __future__ import annotations

import re
import shlex
import tomllib
from typing import Any

import pytest

from tests.infra.conftest import INFRA, load_template

ENVIRONMENTS = ("dev", "staging", "prod")
# Parameters without a default that come from another stack's outputs, filled in after that stack's deploy
# (docs/deploy.md): a missing one makes `sam deploy` stop and ask, it cannot deploy something wrong.
FROM_OUTPUTS = {"WorkerDomain"}

CONFIG: dict[str, Any] = tomllib.loads((INFRA / "samconfig.toml").read_text())
SECTIONS = {
    name: section["deploy"]["parameters"]
    for name, section in CONFIG.items()
    if isinstance(section, dict) and name != "default"
}


def overrides(section: dict[str, Any]) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in shlex.split(section.get("parameter_overrides", "")))


def check_value(name: str, spec: dict[str, Any], value: str) -> None:
    if "AllowedValues" in spec:
        assert value in [str(v) for v in spec["AllowedValues"]], f"{name}={value}"
    if "AllowedPattern" in spec:
        assert re.fullmatch(spec["AllowedPattern"], value), f"{name}={value}"
    if spec["Type"] == "Number":
        assert spec.get("MinValue", float("-inf")) <= float(value) <= spec.get("MaxValue", float("inf")), name


@pytest.mark.parametrize("name", [pytest.param(name, id=name) for name in SECTIONS])
def test_section_parameters_fit_its_template(name: str) -> None:
    section = SECTIONS[name]
    template = load_template(section["template_file"].removesuffix(".yaml"))
    given = overrides(section)
    for key, value in given.items():
        assert key in template["Parameters"], f"{name}: {key} is not a parameter of {section['template_file']}"
        check_value(key, template["Parameters"][key], value)
    required = {k for k, spec in template["Parameters"].items() if "Default" not in spec}
    assert required - set(given) <= FROM_OUTPUTS
    assert section["capabilities"] == "CAPABILITY_IAM"
    assert section["stack_name"].startswith(f"dataset-downloads-{name.split('-', maxsplit=1)[0]}-")


@pytest.mark.parametrize("env", [pytest.param(env, id=env) for env in ENVIRONMENTS])
def test_environment_has_every_stack_and_one_bucket_name(env: str) -> None:
    bucket = SECTIONS[f"{env}-bucket"]
    edge = SECTIONS[f"{env}-edge"]
    workers = {
        name.removeprefix(f"{env}-worker-"): s for name, s in SECTIONS.items() if name.startswith(f"{env}-worker-")
    }
    assert workers, f"{env} has no worker region"
    assert edge["region"] == "us-east-1"
    bucket_name = overrides(bucket)["BucketName"]
    for region, worker in workers.items():
        assert worker["region"] == region
        assert overrides(worker)["DatasetBucket"] == bucket_name
        assert overrides(worker)["DatasetPrefix"] == overrides(bucket)["DatasetPrefix"]
    assert overrides(edge)["SourceBucketDomainName"] == f"{bucket_name}.s3.{bucket['region']}.amazonaws.com"
    assert all(overrides(s)["Environment"] == env for s in (bucket, edge, *workers.values()))
