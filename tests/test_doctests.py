"""Every docstring example in the packages runs, so the examples cannot drift from the code."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

PACKAGES = ("edge", "worker", "dataset_downloads", "infra")


def _modules() -> list[str]:
    names = []
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        names.append(package_name)
        for info in pkgutil.walk_packages(package.__path__, f"{package_name}."):
            if not info.name.endswith(".__main__"):  # running it is what __main__ does on import
                names.append(info.name)
    return sorted(names)


MODULES = _modules()


def _run(name: str) -> doctest.TestResults:
    return doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = _run(name)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (printed above)"


def test_the_examples_are_found() -> None:
    # A discovery that found nothing would pass every case above: the packages hold well over 50 examples
    # (counted, not run again).
    finder = doctest.DocTestFinder()
    found = (test for name in MODULES for test in finder.find(importlib.import_module(name)))
    assert sum(len(test.examples) for test in found) > 50
