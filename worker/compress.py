"""Streaming, deterministic gzip for text responses, and the ``Accept-Encoding`` decision.

The gzip member has a fixed header (mtime 0, no file name, OS "unknown", as ``gzip.compress(data,
mtime=0)`` writes it), so the same body always compresses to the same bytes and the ETag stays honest.
Deflate is never flushed mid-stream, so the output depends on the body alone, not on how it was chunked.
If the body iterator raises, the exception propagates before the CRC/length trailer is written: a
truncated download never decompresses as complete.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Iterator

MIN_CHUNK = 64 * 1024
_MAGIC = b"\x1f\x8b\x08\x00\x00\x00\x00\x00"  # ID1 ID2, deflate, no flags, mtime 0
_OS_UNKNOWN = b"\xff"


def _extra_flags(level: int) -> bytes:
    # What zlib writes in XFL: 2 for maximum compression, 4 for the fastest levels.
    return b"\x02" if level == 9 else b"\x04" if level < 2 else b"\x00"


def gzip_chunks(chunks: Iterable[bytes], level: int = 6) -> Iterator[bytes]:
    """Gzip a stream of chunks into chunks of at least ``MIN_CHUNK`` bytes (the first as soon as deflate
    produces output, for time-to-first-byte; the last whatever remains).

    >>> import gzip
    >>> gzip.decompress(b"".join(gzip_chunks([b"a,b\\n", b"1,2\\n"])))
    b'a,b\\n1,2\\n'
    """
    deflate = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    pending = bytearray(_MAGIC + _extra_flags(level) + _OS_UNKNOWN)
    header_only = len(pending)
    crc = 0
    size = 0
    first = True
    for chunk in chunks:
        if not chunk:
            continue
        crc = zlib.crc32(chunk, crc)
        size += len(chunk)
        pending += deflate.compress(chunk)
        if (first and len(pending) > header_only) or len(pending) >= MIN_CHUNK:
            first = False
            yield bytes(pending)
            pending.clear()
    pending += deflate.flush(zlib.Z_FINISH)
    pending += struct.pack("<II", crc, size & 0xFFFFFFFF)
    yield bytes(pending)


def accepts_gzip(accept_encoding_header: str | None) -> bool:
    """True when ``Accept-Encoding`` allows gzip: listed (or ``x-gzip``) with q > 0, or else ``*`` with
    q > 0. An absent or empty header, ``identity`` alone and ``gzip;q=0`` mean no (RFC 9110 §12.5.3).

    >>> accepts_gzip("br;q=1.0, gzip;q=0.8, *;q=0.1"), accepts_gzip("gzip;q=0, *"), accepts_gzip("identity")
    (True, False, False)
    """
    if not accept_encoding_header:
        return False
    gzip_q: float | None = None
    star_q: float | None = None
    for item in accept_encoding_header.split(","):
        coding, _, params = item.partition(";")
        name = coding.strip().lower()
        q = _quality(params)
        if name in ("gzip", "x-gzip"):
            gzip_q = q if gzip_q is None else max(gzip_q, q)
        elif name == "*":
            star_q = q
    if gzip_q is not None:
        return gzip_q > 0
    return star_q is not None and star_q > 0


def _quality(params: str) -> float:
    """The ``q`` weight of one Accept-Encoding member (default 1; malformed counts as 0, to be safe)."""
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return 0.0
            return q if 0.0 <= q <= 1.0 else 0.0
    return 1.0
