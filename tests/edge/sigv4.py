"""An independent SigV4 verifier, written from AWS's documented algorithm ("Create a signed AWS API request"), not
from botocore: it checks a request the way the receiving service does.

1. Canonical request: method, canonical URI (each segment of the path as received URI-encoded once more: non-S3
   services encode twice), canonical query (each name and value decoded, then encoded with only unreserved
   characters bare, sorted by name then value), canonical headers (the signed ones, lower-cased, values trimmed,
   sorted, each line ending in a newline), the signed header names, the hex SHA-256 of the body.
2. String to sign: ``AWS4-HMAC-SHA256``, the request date, the credential scope, the hex SHA-256 of step 1.
3. Signing key: HMAC-SHA256 chain ``"AWS4" + secret`` → date → region → service → ``aws4_request``.
4. Signature: hex HMAC-SHA256 of step 2 with step 3, compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

ALGORITHM = "AWS4-HMAC-SHA256"
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>[0-9]{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r" SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})"
)


class InvalidSignature(AssertionError):
    """The request would be refused (403) by the service: ``reason`` says why."""


@dataclass(frozen=True)
class Sent:
    """A request as it goes on the wire: headers by lower-case name (values as sent)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass(frozen=True)
class Scope:
    """Who signed, when and for what: from the Authorization header's credential."""

    access_key: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]


def uri_encode(data: bytes) -> str:
    """Every byte but the unreserved ones as ``%XX`` (upper-case hex)."""
    return "".join(chr(byte) if byte in _UNRESERVED else f"%{byte:02X}" for byte in data)


def canonical_uri(path: str) -> str:
    """The received path with each segment encoded once more (SigV4 for every service but S3)."""
    return "/".join(uri_encode(segment.encode("utf-8")) for segment in (path or "/").split("/"))


def canonical_query(query: str) -> str:
    """Decode each name and value, encode them again, sort by name then value."""
    pairs = []
    for pair in query.split("&") if query else ():
        name, _, value = pair.partition("=")
        pairs.append((uri_encode(unquote_to_bytes(name)), uri_encode(unquote_to_bytes(value))))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def canonical_request(sent: Sent, signed_headers: tuple[str, ...]) -> str:
    """Step 1."""
    lines = [f"{name}:{' '.join(sent.headers[name].split())}\n" for name in signed_headers]
    return "\n".join(
        [
            sent.method,
            canonical_uri(sent.path),
            canonical_query(sent.query),
            "".join(lines),
            ";".join(signed_headers),
            hashlib.sha256(sent.body).hexdigest(),
        ]
    )


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def signature(secret: str, scope: Scope, amz_date: str, canonical: str) -> str:
    """Steps 2 to 4: the hex signature of a canonical request."""
    credential_scope = f"{scope.date}/{scope.region}/{scope.service}/aws4_request"
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    string_to_sign = "\n".join([ALGORITHM, amz_date, credential_scope, digest])
    key = _hmac(f"AWS4{secret}".encode(), scope.date)
    for part in (scope.region, scope.service, "aws4_request"):
        key = _hmac(key, part)
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def verify(sent: Sent, secret: str) -> Scope:
    """Check ``sent``'s SigV4 signature with ``secret``; return its scope or raise :class:`InvalidSignature`."""
    match = _AUTHORIZATION.fullmatch(sent.headers.get("authorization", ""))
    if match is None:
        raise InvalidSignature(f"no SigV4 Authorization header: {sent.headers.get('authorization')!r}")
    signed = tuple(match["signed"].split(";"))
    scope = Scope(match["key"], match["date"], match["region"], match["service"], signed)
    if list(signed) != sorted(set(signed)) or "host" not in signed:
        raise InvalidSignature(f"signed headers must be sorted, unique and include host: {signed}")
    if missing := [name for name in signed if name not in sent.headers]:
        raise InvalidSignature(f"signed headers missing from the request: {missing}")
    amz_date = sent.headers.get("x-amz-date", "")
    if not re.fullmatch(r"[0-9]{8}T[0-9]{6}Z", amz_date) or amz_date[:8] != scope.date:
        raise InvalidSignature(f"x-amz-date {amz_date!r} does not match the credential date {scope.date}")
    content_hash = sent.headers.get("x-amz-content-sha256")
    if content_hash is not None and content_hash != hashlib.sha256(sent.body).hexdigest():
        raise InvalidSignature("x-amz-content-sha256 is not the hash of the body")
    expected = signature(secret, scope, amz_date, canonical_request(sent, signed))
    if not hmac.compare_digest(expected, match["signature"]):
        raise InvalidSignature("signature mismatch")
    return scope
