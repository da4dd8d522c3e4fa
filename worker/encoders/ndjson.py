"""NDJSON: the JSON encoder's objects, one per line, each line ending in ``\\n``; an empty result is empty.

Each line is complete on its own, so a truncated download can end on a line boundary: clients must rely
on the transport's failure signal (DESIGN §1), which the streaming transports give.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from worker.encoders.chunking import Text, stream_rows, text_view
from worker.encoders.json import object_rows


def encode_ndjson(schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> Iterator[bytes]:
    """Stream ``batches`` as newline-delimited JSON.

    >>> b"".join(encode_ndjson(pa.schema([("a", pa.int64())]), iter([pa.record_batch([[1, 2]], names=["a"])])))
    b'{"a":1}\\n{"a":2}\\n'
    """
    names = schema.names

    def render(batch: pa.RecordBatch) -> Text:
        return text_view(object_rows(names, batch.columns, after="\n"))

    return stream_rows(batches, render, head=b"", separator=b"", tail=b"", empty=b"")
