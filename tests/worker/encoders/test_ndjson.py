"""NDJSON: one JSON object per line, each line ending in a newline; an empty result is an empty body."""

from __future__ import annotations

import json

import pyarrow as pa

from tests.worker.encoders.conftest import all_types_batch, batch_of, collect_until_error, failing, schema_of
from worker.encoders.ndjson import encode_ndjson

GOLDEN = b'{"entity":1,"name":"a\\nb"}\n{"entity":2,"name":null}\n{"entity":3,"name":"\xc3\xa9"}\n'


def test_golden_bytes() -> None:
    batch = batch_of({"entity": pa.array([1, 2, 3], pa.int64()), "name": ["a\nb", None, "é"]})
    assert b"".join(encode_ndjson(batch.schema, iter([batch]))) == GOLDEN


def test_every_line_parses_like_the_json_array() -> None:
    batch = all_types_batch()
    out = b"".join(encode_ndjson(batch.schema, iter([batch])))
    assert out.endswith(b"\n")
    lines = out.split(b"\n")[:-1]
    assert len(lines) == 3
    assert [json.loads(line)["int"] for line in lines] == [1, None, 2**63 - 1]


def test_empty_result_is_an_empty_body() -> None:
    schema = schema_of([("a", pa.int64())])
    assert b"".join(encode_ndjson(schema, iter([]))) == b""


def test_a_failing_source_propagates() -> None:
    batch = batch_of({"a": pa.array(range(3), pa.int64())})
    partial = collect_until_error(encode_ndjson(batch.schema, failing([batch])))
    assert b'{"a":0}\n{"a":1}\n{"a":2}\n'.startswith(partial)
