"""``dataset-downloads traces [TRACE_ID]``: list the local stack's recent traces, or draw one as a waterfall.

Reads the segment documents the local X-Ray daemon kept (:mod:`dataset_downloads.xray_daemon`) and assembles
them by trace id: segments, their nested subsegments and subsegments sent on their own (linked by
``parent_id``). Later documents for the same entity id (an in-progress one, then the finished one) win.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from dataset_downloads.xray_daemon import DEFAULT_FOLDER, Document, load_documents

BAR_WIDTH = 32


@dataclass
class Node:
    """One segment or subsegment of a trace, with its children sorted by start time."""

    name: str
    id: str
    parent_id: str | None
    start: float
    end: float | None
    annotations: dict[str, Any]
    flags: tuple[str, ...]
    children: list[Node] = field(default_factory=list)

    @property
    def first(self) -> float:
        """The earliest start in this subtree (the edge starts before the worker's segment)."""
        return min([self.start, *(child.first for child in self.children)])

    @property
    def last(self) -> float:
        """The latest end time in this subtree (its start if nothing has ended)."""
        ends = [self.end or self.start, *(child.last for child in self.children)]
        return max(ends)


def _flatten(entity: dict[str, Any], parent_id: str | None, into: dict[str, Node]) -> None:
    flags = tuple(flag for flag in ("fault", "error", "throttle", "in_progress") if entity.get(flag))
    node = Node(
        name=str(entity.get("name", "?")),
        id=str(entity.get("id", "")),
        parent_id=parent_id,
        start=float(entity.get("start_time", 0.0)),
        end=float(entity["end_time"]) if isinstance(entity.get("end_time"), int | float) else None,
        annotations=dict(entity.get("annotations") or {}),
        flags=flags,
    )
    into[node.id] = node  # a later document for the same id replaces an earlier (in-progress) one
    for child in entity.get("subsegments") or ():
        if isinstance(child, dict):
            _flatten(child, node.id, into)


def assemble(documents: Iterable[Document]) -> dict[str, list[Node]]:
    """Trace id → its root nodes (entities whose parent is not in the trace), each with nested children."""
    by_trace: dict[str, dict[str, Node]] = {}
    for document in documents:
        parent = document.get("parent_id")
        _flatten(document, parent if isinstance(parent, str) else None, by_trace.setdefault(document["trace_id"], {}))
    traces: dict[str, list[Node]] = {}
    for trace_id, nodes in by_trace.items():
        for node in nodes.values():
            node.children = []
        roots: list[Node] = []
        for node in nodes.values():
            parent_node = nodes.get(node.parent_id) if node.parent_id else None
            (parent_node.children if parent_node is not None else roots).append(node)
        for node in nodes.values():
            node.children.sort(key=lambda child: child.start)
        traces[trace_id] = sorted(roots, key=lambda root: root.start)
    return traces


def _format_value(value: Any) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _annotations(node: Node) -> str:
    notes = " ".join(f"{key}={_format_value(value)}" for key, value in sorted(node.annotations.items()))
    marks = " ".join(f"!{flag}" for flag in node.flags)
    return " ".join(part for part in (notes, marks) if part)


def _bar(node: Node, origin: float, span: float) -> str:
    left = int((node.start - origin) / span * BAR_WIDTH) if span > 0 else 0
    right = int(((node.end or node.last) - origin) / span * BAR_WIDTH) if span > 0 else BAR_WIDTH
    left = min(max(left, 0), BAR_WIDTH - 1)
    right = min(max(right, left + 1), BAR_WIDTH)
    return "|" + " " * left + "=" * (right - left) + " " * (BAR_WIDTH - right) + "|"


def render_waterfall(trace_id: str, roots: list[Node]) -> str:
    """The trace as an indented table: name, start offset ms, duration ms, a timeline bar, annotations."""
    origin = min(root.first for root in roots)
    finish = max(root.last for root in roots)
    span = finish - origin
    lines = [f"trace {trace_id}  started {_clock(origin)}  {span * 1000:.1f} ms", ""]
    lines.append(f"{'name':<28} {'start ms':>10} {'dur ms':>10}  {'timeline':<{BAR_WIDTH + 2}}  annotations")

    def walk(node: Node, depth: int) -> None:
        duration = f"{(node.end - node.start) * 1000:10.1f}" if node.end is not None else f"{'open':>10}"
        name = ("  " * depth + node.name)[:28]
        offset = (node.start - origin) * 1000
        row = f"{name:<28} {offset:10.1f} {duration}  {_bar(node, origin, span)}  {_annotations(node)}"
        lines.append(row.rstrip())
        for child in node.children:
            walk(child, depth + 1)

    for root in roots:
        walk(root, 0)
    return "\n".join(lines) + "\n"


def render_list(traces: dict[str, list[Node]], limit: int) -> str:
    """The most recent traces first: id, start, duration, root name and the request's key annotations."""
    recent = sorted(traces.items(), key=lambda item: min(root.first for root in item[1]), reverse=True)[:limit]
    lines = [f"{'trace id':<35} {'started':<24} {'dur ms':>10}  {'name':<12} summary"]
    for trace_id, roots in recent:
        origin = min(root.first for root in roots)
        duration = (max(root.last for root in roots) - origin) * 1000
        notes = {key: value for root in roots for key, value in root.annotations.items()}
        summary = " ".join(
            f"{key}={_format_value(notes[key])}" for key in ("status", "dataset", "format", "rows") if key in notes
        )
        name = ",".join(root.name for root in roots)
        lines.append(f"{trace_id:<35} {_clock(origin):<24} {duration:10.1f}  {name:<12} {summary}".rstrip())
    return "\n".join(lines) + "\n"


def _clock(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}Z"


def main(argv: list[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run ``dataset-downloads traces``: 0 on success, 1 for an unknown trace id, 2 for bad arguments."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    parser = argparse.ArgumentParser(prog="dataset-downloads traces", description=__doc__.splitlines()[0])
    parser.add_argument("trace_id", nargs="?", help="draw this trace as a waterfall (default: list recent traces)")
    parser.add_argument(
        "--dir", type=Path, default=DEFAULT_FOLDER, help=f"where the daemon keeps segments ({DEFAULT_FOLDER})"
    )
    parser.add_argument("--limit", type=int, default=20, help="how many traces to list (default 20)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    traces = assemble(load_documents(args.dir))
    if args.trace_id is None:
        if not traces:
            err.write(f"no traces under {args.dir} (is the local server running with its X-Ray daemon?)\n")
        out.write(render_list(traces, max(args.limit, 1)))
        return 0
    roots = traces.get(args.trace_id)
    if not roots:
        err.write(f"trace {args.trace_id!r} not found under {args.dir}\n")
        return 1
    out.write(render_waterfall(args.trace_id, roots))
    return 0
