"""Security properties of the templates that the infra tests leave implicit: nothing public, nothing wider than the
dataset prefix, and a prefix parameter that cannot widen the grant.
"""

from __future__ import annotations

import re

import pytest

from tests.infra.conftest import Template, load_template, resources_of_type


def test_no_function_url_or_permission_is_public(worker_cfn: Template) -> None:
    for url in resources_of_type(worker_cfn, "AWS::Lambda::Url").values():
        assert url["Properties"]["AuthType"] == "AWS_IAM"
        assert "Cors" not in url["Properties"]  # browsers never call the worker directly
    for permission in resources_of_type(worker_cfn, "AWS::Lambda::Permission").values():
        props = permission["Properties"]
        assert props["Principal"] == "cloudfront.amazonaws.com"
        assert "SourceArn" in props  # never "any CloudFront distribution"


def test_the_role_never_grants_wildcard_actions_or_the_whole_bucket(worker_cfn: Template) -> None:
    role = worker_cfn["Resources"]["WorkerFunctionRole"]["Properties"]
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert not any(action.endswith("*") for action in actions), statement
        resource = str(statement["Resource"])
        assert not resource.endswith(":::${DatasetBucket}/*'}"), statement  # the whole bucket
        assert "s3:GetObject" not in actions or "${DatasetPrefix}*" in resource or "results/*" in resource


@pytest.mark.parametrize(
    ("prefix", "accepted"),
    [
        pytest.param("source/", True, id="default"),
        pytest.param("datasets/v1/", True, id="nested"),
        pytest.param("", False, id="empty-would-grant-the-whole-bucket"),
        pytest.param("/", False, id="slash"),
        pytest.param("../source/", False, id="traversal"),
        pytest.param("source", False, id="no-trailing-slash-would-match-source-other"),
        pytest.param("Source/", False, id="upper-case"),
    ],
)
def test_the_dataset_prefix_parameter_cannot_widen_the_grant(prefix: str, accepted: bool) -> None:
    pattern = load_template("worker")["Parameters"]["DatasetPrefix"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, prefix)) is accepted
