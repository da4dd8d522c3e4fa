"""The canonical form of a request (DESIGN §2): one URL per distinct request, and the cache key derived from it.

Parameters sorted by name, filter values sorted and comma-joined, ``fields`` in the user's order, and one
percent-encoding: RFC 3986 unreserved characters bare, everything else ``%XX`` in upper case. The ``,``
between values is a separator: values cannot contain commas (the contract splits on them).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:  # the contract imports this module; at run time only attributes are used
    from edge.contract import DownloadRequest


def canonical_uri(request: DownloadRequest) -> str:
    """The path part: ``/{dataset}.{format}``.

    >>> from edge.contract import parse_request
    >>> canonical_uri(parse_request("GET", "/Tree.CSV", ""))
    '/tree.csv'
    """
    return f"/{request.dataset}.{request.format.value}"


def canonical_query(request: DownloadRequest) -> str:
    """The query string without ``?`` (empty when the request has no parameters).

    >>> from edge.contract import parse_request
    >>> canonical_query(parse_request("GET", "/t.csv", "limit=05&entity=2&Entity=1,2&fields=b,a"))
    'entity=1,2&fields=b,a&limit=5'
    """
    params = [(column, ",".join(quote(value, safe="") for value in values)) for column, values in request.filters]
    if request.fields:
        params.append(("fields", ",".join(request.fields)))
    if request.limit is not None:
        params.append(("limit", str(request.limit)))
    params.sort()
    return "&".join(f"{name}={value}" for name, value in params)


def canonicalise(request: DownloadRequest) -> str:
    """The whole canonical form, ``/{dataset}.{format}[?{params}]``: the cache key.

    >>> from edge.contract import parse_request
    >>> canonicalise(parse_request("HEAD", "/t.json", "organization-entity=b%2Ca&organisation-entity=a"))
    '/t.json?organisation-entity=a,b'
    """
    query = canonical_query(request)
    return canonical_uri(request) + ("?" + query if query else "")


def cache_key_digest(canonical: str) -> str:
    """A short, filename-safe digest of a canonical form (32 hex characters), for result object names."""
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()[:32]
