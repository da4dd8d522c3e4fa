"""Test helpers shared across test directories: a counting moto S3 server and Parquet dataset writers."""

from __future__ import annotations
