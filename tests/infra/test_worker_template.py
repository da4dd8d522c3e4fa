"""The worker stack's security-relevant properties, read from SAM's output, so a regression fails here."""

from __future__ import annotations

from typing import Any

from tests.infra.conftest import Template, resources_of_type


def only(template: Template, kind: str) -> dict[str, Any]:
    found = list(resources_of_type(template, kind).values())
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    props: dict[str, Any] = found[0].get("Properties", {})
    return props


def alias_id(template: Template) -> str:
    (logical_id,) = resources_of_type(template, "AWS::Lambda::Alias")
    return logical_id


def test_function_url_is_iam_authenticated_and_streams_on_the_alias(worker_cfn: Template) -> None:
    url = only(worker_cfn, "AWS::Lambda::Url")
    assert url["AuthType"] == "AWS_IAM"
    assert url["InvokeMode"] == "RESPONSE_STREAM"
    assert url["TargetFunctionArn"] == {"Ref": alias_id(worker_cfn)}


def test_function_runs_the_streaming_runtime_on_arm64_with_tracing(worker_cfn: Template) -> None:
    function = only(worker_cfn, "AWS::Lambda::Function")
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert function["Runtime"] == "python3.12"
    assert function["Architectures"] == ["arm64"]
    assert function["Handler"] == "worker.buffered.handler"
    variables = function["Environment"]["Variables"]
    assert variables["AWS_LAMBDA_EXEC_WRAPPER"] == "/var/task/worker/runtime/exec-wrapper"
    assert variables["DATASET_SOURCE"] == {"Fn::Sub": "s3://${DatasetBucket}/${DatasetPrefix}"}
    assert set(variables) >= {"CACHE_UNFILTERED_MAX_AGE", "CACHE_FILTERED_MAX_AGE", "CACHE_ERROR_MAX_AGE", "GZIP_LEVEL"}
    assert variables["RESULTS_URL"] == {"Fn::Sub": "s3://${DatasetBucket}/results/"}
    assert variables["RESULTS_BASE_URL"] == "/results/"
    assert variables["RESULTS_THRESHOLD_BYTES"] == {"Ref": "ResultsThresholdBytes"}
    assert worker_cfn["Parameters"]["ResultsThresholdBytes"]["Default"] == 5 * 1024 * 1024
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": "WorkerLogGroup"}


def test_log_group_has_a_retention(worker_cfn: Template) -> None:
    assert only(worker_cfn, "AWS::Logs::LogGroup")["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_role_reads_the_dataset_prefix_and_writes_only_results(worker_cfn: Template) -> None:
    role = worker_cfn["Resources"]["WorkerFunctionRole"]["Properties"]
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    assert all(s["Effect"] == "Allow" for s in statements)
    by_sid = {s["Sid"]: s for s in statements}
    assert set(by_sid) == {"ReadDatasetObjects", "ListDatasetPrefix", "WriteResults"}
    read = by_sid["ReadDatasetObjects"]
    assert sorted(read["Action"]) == ["s3:GetObject", "s3:GetObjectVersion"]
    assert read["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:s3:::${DatasetBucket}/${DatasetPrefix}*"}
    listing = by_sid["ListDatasetPrefix"]
    assert listing["Action"] == "s3:ListBucket"
    assert listing["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:s3:::${DatasetBucket}"}
    assert listing["Condition"] == {"StringLike": {"s3:prefix": [{"Fn::Sub": "${DatasetPrefix}*"}, "results/*"]}}
    write = by_sid["WriteResults"]
    assert sorted(write["Action"]) == ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    assert write["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:s3:::${DatasetBucket}/results/*"}
    # Nothing else in the role may write to S3.
    writers = [s for s in statements if any(a in ("s3:PutObject", "s3:DeleteObject") for a in s["Action"])]
    assert writers == [write]
    # Managed policies: logs and X-Ray only, nothing that reaches S3.
    managed = [arn.rsplit("/", 1)[-1] for arn in role["ManagedPolicyArns"]]
    assert sorted(managed) == ["AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess"]


def test_cloudfront_gets_both_invoke_permissions_for_one_distribution(worker_cfn: Template) -> None:
    permissions = resources_of_type(worker_cfn, "AWS::Lambda::Permission")
    by_action = {p["Properties"]["Action"]: p for p in permissions.values()}
    assert set(by_action) == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    for permission in by_action.values():
        props = permission["Properties"]
        assert permission["Condition"] == "HasDistribution"
        assert props["Principal"] == "cloudfront.amazonaws.com"
        assert props["SourceArn"] == {"Ref": "DistributionArn"}
        assert props["SourceAccount"] == {"Ref": "AWS::AccountId"}
        assert props["FunctionName"] == {"Ref": alias_id(worker_cfn)}
    assert by_action["lambda:InvokeFunctionUrl"]["Properties"]["FunctionUrlAuthType"] == "AWS_IAM"
    assert by_action["lambda:InvokeFunction"]["Properties"]["InvokedViaFunctionUrl"] is True


def test_canary_deployment_rolls_back_on_the_three_alarms(worker_cfn: Template) -> None:
    group = only(worker_cfn, "AWS::CodeDeploy::DeploymentGroup")
    assert group["DeploymentConfigName"]["Fn::Sub"][1] == {"ConfigName": "Canary10Percent5Minutes"}
    assert group["AutoRollbackConfiguration"]["Enabled"] is True
    alarms = {a["Name"]["Ref"] for a in group["AlarmConfiguration"]["Alarms"]}
    assert alarms == {"ErrorRateAlarm", "DurationAlarm", "ThrottlesAlarm"}
    alias = worker_cfn["Resources"][alias_id(worker_cfn)]
    assert "CodeDeployLambdaAliasUpdate" in alias["UpdatePolicy"]


def test_alarm_thresholds(worker_cfn: Template) -> None:
    resources = worker_cfn["Resources"]
    error_rate = resources["ErrorRateAlarm"]["Properties"]
    assert (error_rate["Threshold"], error_rate["ComparisonOperator"]) == (5, "GreaterThanThreshold")
    assert {m["Id"]: m.get("MetricStat", {}).get("Metric", {}).get("MetricName") for m in error_rate["Metrics"]} == {
        "rate": None,
        "errors": "Errors",
        "invocations": "Invocations",
    }
    duration = resources["DurationAlarm"]["Properties"]
    assert (duration["MetricName"], duration["Threshold"], duration["Statistic"]) == ("Duration", 50000, "Maximum")
    throttles = resources["ThrottlesAlarm"]["Properties"]
    assert (throttles["MetricName"], throttles["Threshold"]) == ("Throttles", 0)
    for alarm in (duration, throttles):
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"


def test_outputs_name_the_url_domain_and_the_alias(worker_cfn: Template) -> None:
    outputs = worker_cfn["Outputs"]
    assert outputs["FunctionUrlDomain"]["Value"] == {
        "Fn::Select": [2, {"Fn::Split": ["/", {"Fn::GetAtt": ["WorkerFunctionUrl", "FunctionUrl"]}]}]
    }
    assert outputs["AliasArn"]["Value"] == {"Ref": alias_id(worker_cfn)}
    assert outputs["Region"]["Value"] == {"Ref": "AWS::Region"}
