"""SigV4 for the worker origins the edge switches to (DESIGN §2: every request that reaches a worker is signed).

Worker Function URLs use ``AuthType=AWS_IAM``. CloudFront's origin access control signs requests to the
distribution's own worker origin; when the router sends a request to another region's worker, the edge signs it
itself with its execution role's credentials (``lambda:InvokeFunctionUrl`` on that worker), or Lambda answers 403.

botocore ships in the Lambda Python runtime, not in ``edge.zip``, and is imported here on the first signed request
only: the cold start and the viewer-request path stay standard library only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from edge.cloudfront import is_loopback
from edge.config import ACCESS_KEY_ENV, SECRET_KEY_ENV, SESSION_TOKEN_ENV
from edge.errors import Problem
from edge.headers import ORIGIN_REQUEST, SIGNATURE_HEADER_NAMES, set_header

if TYPE_CHECKING:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

SERVICE = "lambda"
# SHA-256 of the empty body: the edge forwards GET and HEAD without a body (IncludeBody is off). Lambda refuses
# unsigned payloads ("UNSIGNED-PAYLOAD"), so the header carries the real hash, and it is signed.
EMPTY_BODY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
_UNRESERVED = "-_.~"  # with letters and digits, which quote() never encodes
_FUNCTION_URL = re.compile(r"[a-z0-9]+\.lambda-url\.(?P<region>[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2})\.on\.aws")


class SigningError(Problem):
    """The edge could not sign a request for another region's worker: a 502, never an unsigned request."""

    status = 502
    code = "origin-signing-failed"
    title = "Bad gateway"


def function_url_region(domain: str) -> str | None:
    """The region in a Lambda Function URL domain (``<url-id>.lambda-url.<region>.on.aws``), else None.

    >>> function_url_region("abc123.lambda-url.eu-west-2.on.aws"), function_url_region("127.0.0.1:8000")
    ('eu-west-2', None)
    """
    match = _FUNCTION_URL.fullmatch(domain.partition(":")[0].lower())
    return match["region"] if match else None


def needs_signing(origin_domain: str | None, domain: str) -> bool:
    """True when the request goes to ``domain`` but CloudFront chose (and its OAC signs for) ``origin_domain``.

    A loopback worker (the local stack) has no IAM in front of it and is never signed.

    >>> needs_signing("a.lambda-url.us-east-1.on.aws", "b.lambda-url.eu-west-2.on.aws")
    True
    """
    host = domain.partition(":")[0].lower()
    if is_loopback(host):
        return False
    return host != (origin_domain or "").lower()


def _botocore() -> tuple[type[SigV4Auth], type[AWSRequest], type[Credentials]]:
    """botocore's signer, request and credentials classes, imported on first use; raise SigningError without it."""
    try:
        # lazily: only a signed request pays for botocore's import (about 0.1 s, once per execution environment)
        from botocore.auth import SigV4Auth  # noqa: PLC0415
        from botocore.awsrequest import AWSRequest  # noqa: PLC0415
        from botocore.credentials import Credentials  # noqa: PLC0415
    except ImportError:
        raise SigningError("The edge cannot sign the request to the worker: botocore is not available.") from None
    return SigV4Auth, AWSRequest, Credentials


def role_credentials(environ: Mapping[str, str] = os.environ) -> Credentials:
    """The execution role's credentials, from the variables Lambda sets (no network call); raise SigningError."""
    access_key, secret_key = environ.get(ACCESS_KEY_ENV), environ.get(SECRET_KEY_ENV)
    if not access_key or not secret_key:
        raise SigningError(f"The edge has no role credentials ({ACCESS_KEY_ENV}) to sign the request to the worker.")
    credentials = _botocore()[2]
    return credentials(access_key, secret_key, environ.get(SESSION_TOKEN_ENV) or None)


def signing_query(querystring: str) -> str:
    """The canonical query of SigV4: each name and value decoded, then encoded with only RFC 3986 unreserved
    characters bare (``%XX`` upper case), the pairs sorted by name, then value.

    Lambda canonicalises the query it receives the same way, so the bare ``,`` the edge forwards between values
    signs as ``%2C``.

    >>> signing_query("fields=a,b&entity=1%2c2&limit=5")
    'entity=1%2C2&fields=a%2Cb&limit=5'
    """
    pairs = []
    for pair in querystring.split("&") if querystring else ():
        name, _, value = pair.partition("=")
        pairs.append((quote(unquote(name), safe=_UNRESERVED), quote(unquote(value), safe=_UNRESERVED)))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def sign_origin_request(request: dict[str, Any], domain: str, region: str, credentials: Credentials) -> None:
    """Add SigV4 headers for service ``lambda`` in ``region`` to the CloudFront ``request`` bound for ``domain``.

    Signed: the method, ``uri``, the canonical form of ``querystring``, the empty body's hash, and the headers
    ``host``, ``x-amz-content-sha256``, ``x-amz-date`` and (with a session token) ``x-amz-security-token``.
    Raises :class:`SigningError` when botocore cannot be imported.
    """
    signer, aws_request, _ = _botocore()
    headers = request["headers"]
    set_header(headers, "Host", domain, ORIGIN_REQUEST)
    signed = aws_request(
        method=request["method"],
        # botocore signs a query given in the URL as it stands, so it goes in already canonical
        url=f"https://{domain}{request['uri']}?{signing_query(request.get('querystring') or '')}",
        headers={"Host": domain, "X-Amz-Content-SHA256": EMPTY_BODY_SHA256},
    )
    signer(credentials, SERVICE, region).add_auth(signed)
    # What the edge adds, in canonical case. Only these and Host are signed: CloudFront adds or rewrites other
    # headers after the function returns (Via, X-Forwarded-For, X-Amz-Cf-Id, User-Agent), which would break it.
    for name in SIGNATURE_HEADER_NAMES:
        value = signed.headers.get(name)
        if value is None:
            headers.pop(name.lower(), None)
        else:
            set_header(headers, name, value, ORIGIN_REQUEST)
