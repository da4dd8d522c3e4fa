"""Generate the edge's ``config.json`` from the worker stacks' outputs (Lambda@Edge has no environment variables).

Input: one JSON file per worker region, each the output of
``aws cloudformation describe-stacks --region R --stack-name S``; output: ``edge/config.json`` (or ``--out``).
Run as ``python infra/edge_config.py --default-region eu-west-2 --out edge/config.json stacks/*.json``.
The cache lifetimes come from the default region's worker parameters, so the edge and the worker agree.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``edge`` importable for the validation below
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge.config import CacheConfig, ConfigError, EdgeConfig

DOMAIN_OUTPUT = "FunctionUrlDomain"
REGION_OUTPUT = "Region"
# Worker stack parameter → edge config ``cache`` key (their defaults are the same on both sides).
CACHE_PARAMETERS = {
    "CacheUnfilteredMaxAge": "unfiltered_max_age",
    "CacheFilteredMaxAge": "filtered_max_age",
    "CacheErrorMaxAge": "error_max_age",
}


class EdgeConfigError(ValueError):
    """The stacks' outputs cannot make a valid edge configuration (missing output, conflict, bad default)."""


def stack_region(stack: Mapping[str, Any]) -> str:
    """The region a described stack lives in: its ``Region`` output, else the region field of its ``StackId``.

    Example: ``{"StackId": "arn:aws:cloudformation:eu-west-2:1:stack/w/x"}`` → ``"eu-west-2"``.
    """
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    if REGION_OUTPUT in outputs:
        return str(outputs[REGION_OUTPUT])
    parts = str(stack.get("StackId", "")).split(":")
    if len(parts) < 4 or not parts[3]:
        raise EdgeConfigError(f"stack {stack.get('StackName')!r} has no Region output and no StackId to read it from")
    return parts[3]


def worker_domains(described: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """``{region: function URL domain}`` from ``describe-stacks`` documents (each may hold several stacks)."""
    workers: dict[str, str] = {}
    for document in described:
        for stack in document.get("Stacks", []):
            outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
            if DOMAIN_OUTPUT not in outputs:
                raise EdgeConfigError(f"stack {stack.get('StackName')!r} has no {DOMAIN_OUTPUT} output: not a worker")
            region, domain = stack_region(stack), str(outputs[DOMAIN_OUTPUT])
            if workers.get(region, domain) != domain:
                raise EdgeConfigError(f"two workers for {region}: {workers[region]} and {domain}")
            workers[region] = domain
    if not workers:
        raise EdgeConfigError("no worker stacks given")
    return workers


def cache_lifetimes(described: Iterable[Mapping[str, Any]], region: str) -> dict[str, int]:
    """The worker's ``Cache*MaxAge`` parameters in ``region``, as the edge config's ``cache`` section."""
    cache: dict[str, int] = {}
    for document in described:
        for stack in document.get("Stacks", []):
            if stack_region(stack) != region:
                continue
            for parameter in stack.get("Parameters", []):
                key = CACHE_PARAMETERS.get(parameter["ParameterKey"])
                if key is not None:
                    cache[key] = int(parameter["ParameterValue"])
    return cache


def build_config(
    described: Sequence[Mapping[str, Any]], default_region: str | None = None, source_base_url: str = "/source/"
) -> dict[str, Any]:
    """The edge configuration as a JSON-ready dict, validated by the edge's own model.

    ``default_region`` may be omitted when there is a single worker region.
    """
    workers = worker_domains(described)
    if default_region is None:
        if len(workers) != 1:
            raise EdgeConfigError(f"several worker regions ({', '.join(sorted(workers))}): name --default-region")
        default_region = next(iter(workers))
    if default_region not in workers:
        raise EdgeConfigError(f"default region {default_region} has no worker stack among {sorted(workers)}")
    config = {
        "workers": dict(sorted(workers.items())),
        "default_worker_region": default_region,
        "source_base_url": source_base_url,
        "cache": asdict(CacheConfig()) | cache_lifetimes(described, default_region),
    }
    try:
        EdgeConfig.from_dict(config)
    except ConfigError as error:
        raise EdgeConfigError(f"the generated configuration is invalid: {error}") from error
    return config


def main(argv: list[str] | None = None) -> int:
    """The command line: read the describe-stacks files, write the config, print where it went."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("stacks", nargs="+", type=Path, help="describe-stacks JSON, one file per worker region")
    parser.add_argument("--default-region", help="the region of the distribution's default worker origin")
    parser.add_argument("--source-base-url", default="/source/")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "edge" / "config.json")
    args = parser.parse_args(argv)
    try:
        described = [json.loads(path.read_text()) for path in args.stacks]
        config = build_config(described, args.default_region, args.source_base_url)
    except (OSError, json.JSONDecodeError, KeyError, EdgeConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    args.out.write_text(json.dumps(config, indent=2) + "\n")
    print(f"{args.out}: workers {', '.join(config['workers'])}; default {config['default_worker_region']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
