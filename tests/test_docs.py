"""The docs test: every format, query parameter and error code the code knows is documented."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edge import errors as edge_errors
from edge.contract import ALIASES, PARAMETERS, Format
from worker import errors as worker_errors

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _all_docs() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted(DOCS.glob("*.md")))


def _subclasses(base: type[Any]) -> list[type[Any]]:
    found: list[type[Any]] = []
    for sub in base.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def _codes() -> list[str]:
    # import every module that defines errors, so the subclass walk sees them all
    import worker.buffered
    import worker.runtime.failure
    import worker.traced_body

    classes: list[type[Any]] = [edge_errors.RequestError, worker_errors.WorkerError]
    classes += _subclasses(edge_errors.RequestError) + _subclasses(worker_errors.WorkerError)
    return sorted({cls.code for cls in classes} | {worker.traced_body.StreamAborted.code})


@pytest.mark.parametrize("name", [*PARAMETERS, *ALIASES], ids=str)
def test_every_parameter_is_documented_in_the_api_guide(name: str) -> None:
    assert f"`{name}`" in (DOCS / "api.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", list(Format), ids=str)
def test_every_format_is_documented(fmt: Format) -> None:
    assert f"`{fmt.value}`" in (DOCS / "api.md").read_text(encoding="utf-8")
    assert fmt.value.upper() in (DOCS / "formats.md").read_text(encoding="utf-8").upper()


@pytest.mark.parametrize("code", _codes(), ids=str)
def test_every_error_code_is_documented(code: str) -> None:
    assert f"`{code}`" in _all_docs()
