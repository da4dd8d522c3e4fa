"""How much the scan does at once, chosen once per process from the CPUs it has: speed or a small footprint.

With two CPUs' worth of time, two row groups are decoded at once (each on its own thread) and the text encoders
render two slices of a batch at once: on the benchmark file a 1% filter of an unsorted file takes 1.5-1.8 s instead
of 2.9 s, at a peak RSS of 300-360 MB instead of about 200 MB (docs/performance.md). With less, one row group is
decoded at a time: nothing to gain from a second thread, and the memory is what the function is sized by.

Lambda reports two CPUs at every memory size but gives a function CPU time in proportion to its memory: one vCPU
at 1,769 MB (docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html), so two at 3,538 MB. The template's
default of 1,024 MB gets the frugal profile. ``SCAN_ROW_GROUPS_AT_ONCE`` (1-8) overrides the choice.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping

ROW_GROUPS_AT_ONCE = "SCAN_ROW_GROUPS_AT_ONCE"
LAMBDA_MEMORY = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
LAMBDA_MB_PER_VCPU = 1769
MAX_AT_ONCE = 8


def row_groups_at_once(environ: Mapping[str, str], cpus: int) -> int:
    """Row groups to decode at once: the override if set, else 2 with two CPUs' worth of time, else 1.

    >>> row_groups_at_once({}, cpus=2), row_groups_at_once({}, cpus=1)
    (2, 1)
    >>> row_groups_at_once({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"}, cpus=2)
    1
    >>> row_groups_at_once({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "4096", "SCAN_ROW_GROUPS_AT_ONCE": "1"}, cpus=2)
    1
    """
    override = environ.get(ROW_GROUPS_AT_ONCE, "").strip()
    if override:
        if not override.isdigit() or not 1 <= int(override) <= MAX_AT_ONCE:
            raise ValueError(f"{ROW_GROUPS_AT_ONCE} must be a whole number from 1 to {MAX_AT_ONCE}, not {override!r}")
        return int(override)
    memory = function_memory_mb(environ)
    if memory is not None:
        cpus = min(cpus, memory // LAMBDA_MB_PER_VCPU)
    return 2 if cpus >= 2 else 1


def function_memory_mb(environ: Mapping[str, str]) -> int | None:
    """The Lambda function's memory size in MB, or None outside Lambda (or when the variable is not a number).

    >>> function_memory_mb({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"}), function_memory_mb({})
    (1024, None)
    """
    memory = environ.get(LAMBDA_MEMORY, "").strip()
    return int(memory) if memory.isdigit() else None


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity, not the machine's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@functools.cache
def process_at_once() -> int:
    """This process's profile, decided once: :func:`row_groups_at_once` of its environment and CPUs. The scan
    decodes that many row groups at once and the text encoders render that many slices of a batch at once.
    """
    return row_groups_at_once(os.environ, available_cpus())
