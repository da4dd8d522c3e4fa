"""The router: configuration + a valid request → where the origin-request event should go.

Pure: no event shapes here (see :mod:`edge.cloudfront`). A whole-source Parquet request is the source object
itself and is redirected to it; everything else goes to the worker of the nearest configured region.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from edge.config import EdgeConfig
from edge.contract import DownloadRequest


@dataclass(frozen=True)
class Redirect:
    """Answer with a cacheable redirect to ``location`` for ``max_age`` seconds."""

    location: str
    max_age: int

    @property
    def decision(self) -> str:
        """The short name of this decision, for the trace context and logs."""
        return "redirect"


@dataclass(frozen=True)
class Worker:
    """Forward to the worker Function URL ``domain`` (``hostname[:port]``) in ``region``."""

    region: str
    domain: str

    @property
    def decision(self) -> str:
        """The short name of this decision, for the trace context and logs."""
        return f"worker:{self.region}"


def _geography(region: str) -> str:
    return region.partition("-")[0]


def choose_region(workers: Mapping[str, str], current: str | None, default: str) -> str:
    """The configured region nearest ``current``: itself, else the one in the same geography sharing the
    longest name prefix (ties broken alphabetically), else ``default``.

    >>> choose_region({"eu-west-1": "a", "eu-central-1": "b", "us-east-1": "c"}, "eu-west-2", "us-east-1")
    'eu-west-1'
    """
    if current is None or current in workers:
        return current or default
    parts = current.split("-")
    geography = parts[0]

    def shared(region: str) -> int:
        count = 0
        for mine, theirs in zip(parts, region.split("-"), strict=False):
            if mine != theirs:
                break
            count += 1
        return count

    candidates = sorted((-shared(region), region) for region in workers if _geography(region) == geography)
    return candidates[0][1] if candidates else default


def route(request: DownloadRequest, config: EdgeConfig, current_region: str | None) -> Redirect | Worker:
    """Decide where ``request`` goes.

    >>> from edge.contract import parse_request
    >>> config = EdgeConfig.from_dict({"workers": {"eu-west-2": "w.example.org"}, "default_worker_region": "eu-west-2"})
    >>> route(parse_request("GET", "/tree.parquet", ""), config, "eu-west-2")
    Redirect(location='/source/tree.parquet', max_age=3600)
    >>> route(parse_request("GET", "/tree.csv", "organisation-entity=1"), config, "eu-west-1")
    Worker(region='eu-west-2', domain='w.example.org')
    """
    if request.is_whole_source:
        return Redirect(f"{config.source_base_url}{request.dataset}.parquet", config.cache.unfiltered_max_age)
    region = choose_region(config.workers, current_region, config.default_worker_region)
    return Worker(region, config.workers[region])
