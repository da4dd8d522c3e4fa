"""What the S3 source and the S3 results store share: ``s3://bucket/prefix/`` URLs and error codes."""

from __future__ import annotations

from urllib.parse import urlsplit

from botocore.exceptions import ClientError


def split_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` → ``(bucket, "prefix/")`` (the prefix empty or ending in ``/``).

    >>> split_s3_url("s3://data/planning/datasets")
    ('data', 'planning/datasets/')
    """
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"An S3 URL needs the form s3://bucket/prefix/: {url!r}")
    prefix = parts.path.lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return parts.netloc, prefix


def error_code(error: ClientError) -> str:
    """S3's error code (``NoSuchKey``, ``SlowDown``, ``412``...) from a botocore client error."""
    return str(error.response.get("Error", {}).get("Code", ""))
