"""The dataset bucket's protections: encryption, versioning, no public access, noncurrent expiry, OAC-only reads."""

from __future__ import annotations

from typing import Any

from tests.infra.conftest import Template


def bucket(bucket_cfn: Template) -> dict[str, Any]:
    props: dict[str, Any] = bucket_cfn["Resources"]["DatasetBucket"]["Properties"]
    return props


def test_bucket_is_encrypted_versioned_and_retained(bucket_cfn: Template) -> None:
    props = bucket(bucket_cfn)
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    resource = bucket_cfn["Resources"]["DatasetBucket"]
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"


def test_public_access_is_blocked(bucket_cfn: Template) -> None:
    block = bucket(bucket_cfn)["PublicAccessBlockConfiguration"]
    assert block == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    assert bucket(bucket_cfn)["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_noncurrent_versions_expire_after_90_days(bucket_cfn: Template) -> None:
    rules = {r["Id"]: r for r in bucket(bucket_cfn)["LifecycleConfiguration"]["Rules"]}
    expiry = rules["expire-noncurrent-versions"]
    assert expiry["Status"] == "Enabled"
    assert expiry["NoncurrentVersionExpiration"] == {"NoncurrentDays": {"Ref": "NoncurrentVersionDays"}}
    assert bucket_cfn["Parameters"]["NoncurrentVersionDays"]["Default"] == 90


def test_policy_lets_only_the_distribution_read_only_the_source_prefix(bucket_cfn: Template) -> None:
    statements = bucket_cfn["Resources"]["DatasetBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    deny, conditional, _results = statements
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    condition, allow, otherwise = conditional["Fn::If"]
    assert (condition, otherwise) == ("HasDistribution", {"Ref": "AWS::NoValue"})
    assert allow["Effect"] == "Allow"
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    assert allow["Resource"] == {"Fn::Sub": "${DatasetBucket.Arn}/${DatasetPrefix}*"}
    assert allow["Condition"] == {"StringEquals": {"AWS:SourceArn": {"Ref": "DistributionArn"}}}


def test_results_expire_after_7_days_with_their_versions_and_uploads(bucket_cfn: Template) -> None:
    rules = {r["Id"]: r for r in bucket(bucket_cfn)["LifecycleConfiguration"]["Rules"]}
    results = rules["expire-results"]
    assert (results["Status"], results["Prefix"]) == ("Enabled", "results/")
    assert results["ExpirationInDays"] == {"Ref": "ResultsExpiryDays"}
    assert bucket_cfn["Parameters"]["ResultsExpiryDays"]["Default"] == 7
    assert results["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}
    assert results["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}


def test_policy_lets_only_the_distribution_read_results(bucket_cfn: Template) -> None:
    statements = bucket_cfn["Resources"]["DatasetBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    condition, allow, otherwise = statements[2]["Fn::If"]
    assert (condition, otherwise) == ("HasDistribution", {"Ref": "AWS::NoValue"})
    assert (allow["Effect"], allow["Action"]) == ("Allow", "s3:GetObject")
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Resource"] == {"Fn::Sub": "${DatasetBucket.Arn}/results/*"}
    assert allow["Condition"] == {"StringEquals": {"AWS:SourceArn": {"Ref": "DistributionArn"}}}
    assert bucket_cfn["Outputs"]["ResultsUrl"]["Value"] == {"Fn::Sub": "s3://${DatasetBucket}/results/"}
