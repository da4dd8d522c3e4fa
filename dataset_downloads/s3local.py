"""``serve --s3``: a moto S3 server on loopback holding a folder's datasets, so the S3 code path runs locally.

The bucket is versioned, like the production dataset bucket, so the worker pins reads by VersionId. The
credentials are moto's dummies; nothing here talks to AWS.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

BUCKET = "dataset-downloads-local"
PREFIX = "datasets/"
REGION: Final = "eu-west-2"


@dataclass(frozen=True)
class LocalS3:
    """A running moto server: its endpoint, the ``s3://`` URL of the datasets, the environment to use it."""

    endpoint: str
    url: str
    environ: dict[str, str]
    stop: Callable[[], None]


def start_local_s3(directory: Path, bucket: str = BUCKET, prefix: str = PREFIX) -> LocalS3:
    """Start moto on ``127.0.0.1`` (random port), create a versioned ``bucket``, upload ``directory/*.parquet``
    under ``prefix``; return where it is. The caller applies :attr:`LocalS3.environ` to its process.
    """
    import boto3  # noqa: PLC0415  # only the S3 mode pays for boto3 and moto
    from moto.server import ThreadedMotoServer  # noqa: PLC0415

    files = sorted(directory.glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"no *.parquet files in {directory}: run `dataset-downloads sample-data {directory}`")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    environ = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # moto's dummy credential, not a secret
        "AWS_DEFAULT_REGION": REGION,
    }
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=environ["AWS_SECRET_ACCESS_KEY"],
    )
    # moto keeps its state per process: a second local S3 in one process finds the first one's bucket.
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for path in files:
        client.upload_file(str(path), bucket, prefix + path.name)
    return LocalS3(endpoint, f"s3://{bucket}/{prefix}", environ, server.stop)
