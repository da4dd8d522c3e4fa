"""Every template is clean under cfn-lint, before and after SAM's transform."""

from __future__ import annotations

import json

import pytest
from cfnlint.api import ManualArgs, lint

from tests.infra.conftest import INFRA, SAM_TEMPLATES, TEMPLATE_REGIONS, translate

# SAM resolves DeploymentPreference.Type from the parameter's value while transforming (CloudFormation passes
# the deploy's values to the transform), which leaves the DeploymentType parameter unreferenced afterwards.
TRANSLATED_IGNORES = {"worker": ["W2001"], "edge": []}


@pytest.mark.parametrize("name", [pytest.param(name, id=name) for name in TEMPLATE_REGIONS])
def test_template_is_lint_clean(name: str) -> None:
    regions = sorted({TEMPLATE_REGIONS[name], "us-east-1"})
    matches = lint((INFRA / f"{name}.yaml").read_text(), config=ManualArgs(regions=regions))
    assert [str(match) for match in matches] == []


@pytest.mark.parametrize("name", [pytest.param(name, id=name) for name in SAM_TEMPLATES])
def test_sam_translation_is_lint_clean(name: str) -> None:
    translated = translate(name)
    config = ManualArgs(regions=[TEMPLATE_REGIONS[name]], ignore_checks=TRANSLATED_IGNORES[name])
    matches = lint(json.dumps(translated), config=config)
    assert [str(match) for match in matches] == []
    assert "Transform" not in translated
    assert not any(r["Type"].startswith("AWS::Serverless::") for r in translated["Resources"].values())


def test_every_template_is_checked() -> None:
    assert {path.stem for path in INFRA.glob("*.yaml")} == set(TEMPLATE_REGIONS)
