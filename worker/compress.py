"""Streaming, deterministic gzip for text responses, and the ``Accept-Encoding`` decision.

The gzip member has a fixed header (mtime 0, no file name, OS "unknown", as ``gzip.compress(data,
mtime=0)`` writes it), so the same body always compresses to the same bytes and the ETag stays honest.
Levels 0-3 use ISA-L (python-isal, ~465 MB/s of input per core at level 1, docs/performance.md) when it is
installed, levels 4-9 and any level without it use zlib. ISA-L's output depends on how its input is split, so
every implementation is fed the body re-cut into fixed :data:`BLOCK` pieces and never flushed mid-stream:
the output depends on the body alone, not on how it was chunked. If the body iterator raises, the exception
propagates before the CRC/length trailer is written: a truncated download never decompresses as complete.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["BLOCK", "DEFAULT_LEVEL", "MIN_CHUNK", "accepts_gzip", "gzip_chunks", "implementation", "isal_zlib"]

isal_zlib: Any
try:
    from isal import isal_zlib
except ImportError:  # pragma: no cover - optional: zlib gives the same format, ~3.4x slower at level 1
    isal_zlib = None

MIN_CHUNK = 64 * 1024
BLOCK = 256 * 1024
# The levels ISA-L has (0-3); others go to zlib, whose 4-9 compress a little more at a fraction of the speed.
ISAL_LEVELS = range(4)
# The default GZIP_LEVEL: ISA-L level 1 keeps a CSV download well above 100 MB/s of input per core.
DEFAULT_LEVEL = 1
_crc32: Any = zlib.crc32 if isal_zlib is None else isal_zlib.crc32  # same CRC-32, ISA-L's is SIMD
_MAGIC = b"\x1f\x8b\x08\x00\x00\x00\x00\x00"  # ID1 ID2, deflate, no flags, mtime 0
_OS_UNKNOWN = b"\xff"


def _extra_flags(level: int) -> bytes:
    # What zlib writes in XFL: 2 for maximum compression, 4 for the fastest levels.
    return b"\x02" if level == 9 else b"\x04" if level < 2 else b"\x00"


def implementation(level: int) -> str:
    """Which deflate implementation compresses at ``level`` here; the bytes differ between them, so the ETag
    of a gzip response names it.

    >>> implementation(9)
    'zlib'
    """
    return "isal" if isal_zlib is not None and level in ISAL_LEVELS else "zlib"


def _deflater(level: int) -> Any:
    """A raw-deflate compressor (no zlib header) for ``level``: ISA-L for 0-3 when installed, else zlib."""
    if implementation(level) == "isal":
        return isal_zlib.compressobj(level, isal_zlib.DEFLATED, -isal_zlib.MAX_WBITS)
    return zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)


def _blocks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The concatenated chunks re-cut into pieces of exactly :data:`BLOCK` bytes, the last one shorter."""
    pending = bytearray()
    for chunk in chunks:
        pending += chunk
        if len(pending) >= BLOCK:
            whole = len(pending) - len(pending) % BLOCK
            view = memoryview(pending)
            for start in range(0, whole, BLOCK):
                yield bytes(view[start : start + BLOCK])
            view.release()
            del pending[:whole]
    if pending:
        yield bytes(pending)


def gzip_chunks(chunks: Iterable[bytes], level: int = DEFAULT_LEVEL) -> Iterator[bytes]:
    """Gzip a stream of chunks into chunks of at least ``MIN_CHUNK`` bytes (the first as soon as deflate
    produces output, for time-to-first-byte; the last whatever remains).

    >>> import gzip
    >>> gzip.decompress(b"".join(gzip_chunks([b"a,b\\n", b"1,2\\n"])))
    b'a,b\\n1,2\\n'
    """
    deflate = _deflater(level)
    pending = bytearray(_MAGIC + _extra_flags(level) + _OS_UNKNOWN)
    header_only = len(pending)
    crc = 0
    size = 0
    first = True
    for block in _blocks(chunks):
        crc = _crc32(block, crc)
        size += len(block)
        pending += deflate.compress(block)
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
