"""The edge stack's security- and cache-relevant properties, read from SAM's output."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.conftest import Template, resources_of_type


def distribution(edge_cfn: Template) -> dict[str, Any]:
    config: dict[str, Any] = edge_cfn["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    return config


def version_id(edge_cfn: Template) -> str:
    (logical_id,) = resources_of_type(edge_cfn, "AWS::Lambda::Version")
    return logical_id


def test_edge_only_deploys_in_us_east_1(edge_cfn: Template) -> None:
    (rule,) = edge_cfn["Rules"].values()
    assert rule["Assertions"][0]["Assert"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}


def test_edge_function_fits_lambda_at_edge(edge_cfn: Template) -> None:
    function = edge_cfn["Resources"]["EdgeFunction"]["Properties"]
    assert function["Handler"] == "edge.handler.handler"
    assert function["Runtime"] == "python3.12"
    assert function["Architectures"] == ["x86_64"]
    assert "Environment" not in function
    assert "Layers" not in function
    assert function["MemorySize"] <= 128
    assert function["Timeout"] <= 5
    assert function["Role"] == {"Fn::GetAtt": ["EdgeRole", "Arn"]}


def test_edge_role_is_assumable_by_lambda_and_edgelambda_only(edge_cfn: Template) -> None:
    role = edge_cfn["Resources"]["EdgeRole"]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRole"
    assert sorted(statement["Principal"]["Service"]) == ["edgelambda.amazonaws.com", "lambda.amazonaws.com"]
    assert set(statement["Principal"]) == {"Service"}


def test_edge_role_may_invoke_only_the_named_worker_aliases(edge_cfn: Template) -> None:
    policies = edge_cfn["Resources"]["EdgeRole"]["Properties"]["Policies"]["Fn::If"]
    assert policies[0] == "EdgeCallsWorkers"
    (statement,) = policies[1][0]["PolicyDocument"]["Statement"]
    assert sorted(statement["Action"]) == ["lambda:InvokeFunction", "lambda:InvokeFunctionUrl"]
    assert statement["Resource"] == {"Ref": "WorkerAliasArns"}


def test_both_triggers_run_the_numbered_version_without_the_body(edge_cfn: Template) -> None:
    associations = distribution(edge_cfn)["DefaultCacheBehavior"]["LambdaFunctionAssociations"]
    viewer = associations[0]["Fn::If"]
    assert viewer[0] == "WithViewerRequest"
    by_event = {a["EventType"]: a for a in (viewer[1], associations[1])}
    assert set(by_event) == {"viewer-request", "origin-request"}
    for association in by_event.values():
        assert association["IncludeBody"] is False
        assert association["LambdaFunctionARN"] == {"Ref": version_id(edge_cfn)}


@pytest.mark.parametrize(
    ("logical_id", "origin_type", "behaviour"),
    [
        # no-override: the edge's own SigV4 on a request switched to another region's worker must survive
        pytest.param("WorkerOriginAccessControl", "lambda", "no-override", id="lambda"),
        pytest.param("SourceOriginAccessControl", "s3", "always", id="s3"),
    ],
)
def test_origin_access_control_signs(edge_cfn: Template, logical_id: str, origin_type: str, behaviour: str) -> None:
    config = edge_cfn["Resources"][logical_id]["Properties"]["OriginAccessControlConfig"]
    assert config["OriginAccessControlOriginType"] == origin_type
    assert config["SigningBehavior"] == behaviour
    assert config["SigningProtocol"] == "sigv4"


def test_no_policy_forwards_a_viewer_authorization_to_the_worker(edge_cfn: Template) -> None:
    # With no-override, a viewer Authorization that reached the worker origin would replace CloudFront's signature.
    resources = edge_cfn["Resources"]
    cache = resources["DownloadCachePolicy"]["Properties"]["CachePolicyConfig"]
    forwarded = cache["ParametersInCacheKeyAndForwardedToOrigin"]["HeadersConfig"]
    origin = resources["WorkerOriginRequestPolicy"]["Properties"]["OriginRequestPolicyConfig"]["HeadersConfig"]
    for config in (forwarded, origin):
        assert config["HeaderBehavior"] in {"none", "whitelist"}
        assert "authorization" not in {h.lower() for h in config.get("Headers", [])}


def test_both_origins_use_their_access_control(edge_cfn: Template) -> None:
    origins = {o["Id"]: o for o in distribution(edge_cfn)["Origins"]}
    worker, source = origins["worker"], origins["source"]
    assert worker["OriginAccessControlId"] == {"Fn::GetAtt": ["WorkerOriginAccessControl", "Id"]}
    assert worker["DomainName"] == {"Ref": "WorkerDomain"}
    assert worker["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert source["OriginAccessControlId"] == {"Fn::GetAtt": ["SourceOriginAccessControl", "Id"]}
    assert source["S3OriginConfig"] == {"OriginAccessIdentity": ""}


def test_cache_policy_keys_on_every_query_string_and_normalised_encoding(edge_cfn: Template) -> None:
    config = edge_cfn["Resources"]["DownloadCachePolicy"]["Properties"]["CachePolicyConfig"]
    key = config["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["QueryStringsConfig"] == {"QueryStringBehavior": "all"}
    assert key["EnableAcceptEncodingGzip"] is True
    assert key["EnableAcceptEncodingBrotli"] is True
    assert key["HeadersConfig"] == {"HeaderBehavior": "none"}
    assert key["CookiesConfig"] == {"CookieBehavior": "none"}


def test_worker_behaviour_forwards_queries_but_never_the_viewer_host(edge_cfn: Template) -> None:
    behaviour = distribution(edge_cfn)["DefaultCacheBehavior"]
    assert behaviour["TargetOriginId"] == "worker"
    assert behaviour["CachePolicyId"] == {"Ref": "DownloadCachePolicy"}
    assert behaviour["OriginRequestPolicyId"] == {"Ref": "WorkerOriginRequestPolicy"}
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behaviour["Compress"] is False
    assert set(behaviour["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS"}
    policy = edge_cfn["Resources"]["WorkerOriginRequestPolicy"]["Properties"]["OriginRequestPolicyConfig"]
    assert policy["QueryStringsConfig"] == {"QueryStringBehavior": "all"}
    headers = policy["HeadersConfig"]
    assert headers["HeaderBehavior"] in {"none", "whitelist"}
    assert "host" not in {h.lower() for h in headers.get("Headers", [])}


def test_source_behaviour_serves_the_bucket(edge_cfn: Template) -> None:
    behaviour, _results = distribution(edge_cfn)["CacheBehaviors"]
    assert (behaviour["PathPattern"], behaviour["TargetOriginId"]) == ("/source/*", "source")
    assert set(behaviour["AllowedMethods"]) == {"GET", "HEAD"}
    assert "LambdaFunctionAssociations" not in behaviour


def test_errors_are_cached_briefly_and_5xx_not_at_all(edge_cfn: Template) -> None:
    ttls = {e["ErrorCode"]: e["ErrorCachingMinTTL"] for e in distribution(edge_cfn)["CustomErrorResponses"]}
    assert ttls[400] == ttls[404] == {"Ref": "ErrorCachingMinTTL"}
    assert {code: ttl for code, ttl in ttls.items() if code >= 500} == {500: 0, 502: 0, 503: 0, 504: 0}
    assert not any("ResponsePagePath" in e for e in distribution(edge_cfn)["CustomErrorResponses"])


def test_waf_is_optional_and_rate_limits_per_ip(edge_cfn: Template) -> None:
    acl = edge_cfn["Resources"]["WebAcl"]
    assert acl["Condition"] == "WithWaf"
    assert acl["Properties"]["Scope"] == "CLOUDFRONT"
    (rule,) = acl["Properties"]["Rules"]
    assert rule["Action"] == {"Block": {}}
    assert rule["Statement"]["RateBasedStatement"] == {"AggregateKeyType": "IP", "Limit": {"Ref": "WafRateLimit"}}
    assert distribution(edge_cfn)["WebACLId"] == {
        "Fn::If": ["WithWaf", {"Fn::GetAtt": ["WebAcl", "Arn"]}, {"Ref": "AWS::NoValue"}]
    }


def test_5xx_alarm_watches_the_distribution(edge_cfn: Template) -> None:
    alarm = edge_cfn["Resources"]["Distribution5xxAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/CloudFront", "5xxErrorRate")
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {
        "DistributionId": {"Ref": "Distribution"},
        "Region": "Global",
    }


def test_outputs_give_the_distribution_arn(edge_cfn: Template) -> None:
    assert edge_cfn["Outputs"]["DistributionArn"]["Value"] == {
        "Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Distribution}"
    }


def test_results_behaviour_serves_the_results_prefix_with_oac_and_long_ttls(edge_cfn: Template) -> None:
    _source, behaviour = distribution(edge_cfn)["CacheBehaviors"]
    assert (behaviour["PathPattern"], behaviour["TargetOriginId"]) == ("/results/*", "results")
    assert set(behaviour["AllowedMethods"]) == {"GET", "HEAD"}
    assert behaviour["Compress"] is False
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
    assert "LambdaFunctionAssociations" not in behaviour
    origin = {o["Id"]: o for o in distribution(edge_cfn)["Origins"]}["results"]
    assert origin["DomainName"] == {"Ref": "SourceBucketDomainName"}
    assert "OriginPath" not in origin  # /results/{name} is the key results/{name}
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["SourceOriginAccessControl", "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert behaviour["CachePolicyId"] == {"Ref": "ResultsCachePolicy"}
    config = edge_cfn["Resources"]["ResultsCachePolicy"]["Properties"]["CachePolicyConfig"]
    assert config["MinTTL"] >= 86400
    assert config["DefaultTTL"] >= 7 * 86400
    assert config["MaxTTL"] == 31536000
    key = config["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["QueryStringsConfig"] == {"QueryStringBehavior": "none"}
    assert key["HeadersConfig"] == {"HeaderBehavior": "none"}
