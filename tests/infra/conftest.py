"""Shared helpers for the infrastructure tests: parse the templates and run SAM's transform offline."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.decode import decode
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

INFRA = Path(__file__).resolve().parents[2] / "infra"
# Each template with the region it is linted and translated for.
TEMPLATE_REGIONS = {"bucket": "eu-west-2", "worker": "eu-west-2", "edge": "us-east-1"}
SAM_TEMPLATES = ("worker", "edge")

Template = dict[str, Any]


def load_template(name: str) -> Template:
    """``infra/{name}.yaml`` as plain dicts, short-form intrinsics (``!Ref``) expanded to their long form."""
    template, errors = decode(str(INFRA / f"{name}.yaml"))
    assert not errors, errors
    assert template is not None
    loaded: Template = json.loads(json.dumps(template))
    return loaded


def translate(name: str, parameters: dict[str, Any] | None = None) -> Template:
    """SAM's transform of ``infra/{name}.yaml``, as CloudFormation would run it on deploy.

    ``sam deploy`` first uploads each local ``CodeUri`` and rewrites it to an S3 URI; this does the same with a
    placeholder. The boto session only supplies a region (no credentials, no network).
    """
    template = copy.deepcopy(load_template(name))
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://artifacts/{name}.zip"
    translator = Translator({}, Parser(), boto_session=boto3.session.Session(region_name=TEMPLATE_REGIONS[name]))
    translated: Template = translator.translate(template, parameter_values=dict(parameters or {}))
    return translated


def resources_of_type(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    """The template's resources of one ``Type``, by logical id."""
    return {key: value for key, value in template["Resources"].items() if value["Type"] == kind}


@pytest.fixture(scope="session")
def worker_cfn() -> Template:
    """The worker stack after SAM's transform."""
    return translate("worker")


@pytest.fixture(scope="session")
def edge_cfn() -> Template:
    """The edge stack after SAM's transform."""
    return translate("edge")


@pytest.fixture(scope="session")
def bucket_cfn() -> Template:
    """The bucket stack (plain CloudFormation)."""
    return load_template("bucket")
