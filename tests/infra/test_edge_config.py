"""infra/edge_config.py: describe-stacks output → edge/config.json that the edge itself accepts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from edge.config import parse_config
from infra.edge_config import EdgeConfigError, build_config, main

LONDON = "abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-2.on.aws"
VIRGINIA = "zyxwvutsrqponmlkjihgfedcba543210.lambda-url.us-east-1.on.aws"


def described(
    region: str, domain: str, parameters: dict[str, str] | None = None, with_region: bool = True
) -> dict[str, Any]:
    """What `aws cloudformation describe-stacks` prints for one worker stack."""
    outputs = [
        {"OutputKey": "FunctionUrlDomain", "OutputValue": domain},
        {"OutputKey": "AliasArn", "OutputValue": f"arn:aws:lambda:{region}:123456789012:function:w:live"},
    ]
    if with_region:
        outputs.append({"OutputKey": "Region", "OutputValue": region})
    return {
        "Stacks": [
            {
                "StackName": "dataset-downloads-prod-worker",
                "StackId": f"arn:aws:cloudformation:{region}:123456789012:stack/dataset-downloads-prod-worker/1",
                "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()],
                "Outputs": outputs,
            }
        ]
    }


def test_two_regions_make_a_config_the_edge_accepts() -> None:
    config = build_config(
        [described("us-east-1", VIRGINIA), described("eu-west-2", LONDON, {"CacheFilteredMaxAge": "120"})],
        default_region="eu-west-2",
    )
    assert config == {
        "workers": {"eu-west-2": LONDON, "us-east-1": VIRGINIA},
        "default_worker_region": "eu-west-2",
        "source_base_url": "/source/",
        "cache": {"unfiltered_max_age": 3600, "filtered_max_age": 120, "error_max_age": 60},
    }
    parsed = parse_config(json.dumps(config))
    assert parsed.workers["us-east-1"] == VIRGINIA


def test_a_single_region_is_the_default_and_the_region_can_come_from_the_stack_id() -> None:
    config = build_config([described("eu-west-2", LONDON, with_region=False)])
    assert config["default_worker_region"] == "eu-west-2"
    assert config["workers"] == {"eu-west-2": LONDON}


@pytest.mark.parametrize(
    ("documents", "default", "message"),
    [
        pytest.param([], None, "no worker stacks", id="none"),
        pytest.param(
            [{"Stacks": [{"StackName": "x", "Outputs": []}]}], None, "no FunctionUrlDomain", id="not-a-worker"
        ),
        pytest.param(
            [described("eu-west-2", LONDON), described("eu-west-2", VIRGINIA)], None, "two workers", id="conflict"
        ),
        pytest.param(
            [described("eu-west-2", LONDON), described("us-east-1", VIRGINIA)],
            None,
            "name --default-region",
            id="ambiguous",
        ),
        pytest.param([described("eu-west-2", LONDON)], "eu-west-1", "no worker stack", id="unknown-default"),
        pytest.param([described("eu-west-2", "not a domain")], None, "invalid", id="bad-domain"),
    ],
)
def test_bad_inputs_are_refused(documents: list[dict[str, Any]], default: str | None, message: str) -> None:
    with pytest.raises(EdgeConfigError, match=message):
        build_config(documents, default)


def test_main_writes_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stacks = tmp_path / "eu-west-2.json"
    stacks.write_text(json.dumps(described("eu-west-2", LONDON)))
    out = tmp_path / "config.json"
    assert main([str(stacks), "--out", str(out)]) == 0
    assert parse_config(out.read_bytes()).default_worker_region == "eu-west-2"
    assert "eu-west-2" in capsys.readouterr().out


def test_main_reports_errors_without_writing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stacks = tmp_path / "stacks.json"
    stacks.write_text(json.dumps({"Stacks": []}))
    out = tmp_path / "config.json"
    assert main([str(stacks), "--out", str(out)]) == 1
    assert not out.exists()
    assert "no worker stacks" in capsys.readouterr().err
