"""The docs test: the docs say what the code does.

Every format, query parameter and error code the code knows is in docs/api.md (each error code with its
status, in the error table); every example problem body there is exactly what the code sends today; the CORS
preflight, ``start_server`` and the trace's ``cache_key`` are documented as the code has them; every
environment variable the worker reads is in the configuration table of docs/runtime.md, with the code's default.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
from collections.abc import Callable, Iterator
from dataclasses import fields
from pathlib import Path
from types import ModuleType

import pytest

import edge
import worker
from dataset_downloads.sample import SAMPLES, scaled, write_samples
from dataset_downloads.server import start_server
from edge.cloudfront import preflight_response
from edge.contract import ALIASES, PARAMETERS, Format, parse_request
from edge.errors import RequestError
from edge.problem import problem_body
from worker import config as worker_config
from worker.app import App
from worker.buffered import MAX_BUFFERED_RESPONSE, run_buffered
from worker.config import WorkerSettings
from worker.response import Response
from worker.runtime import __main__ as runtime_main
from worker.runtime import loop as runtime_loop
from worker.runtime.context import InvocationContext
from worker.runtime.failure import problem_response
from worker.tracing import NullTracer

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# A name an environment variable can have (worker/config.py keeps each one as NAME = "NAME").
_ENV_NAME = re.compile(r"_?[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
# Environment reads written as literals: env.get("X"), environ.get("X"), os.environ["X"], os.getenv("X").
_ENV_READ = re.compile(
    r"""(?:environ|env)(?:\.get\(|\[)\s*["']([A-Z_][A-Z0-9_]*)["']|getenv\(\s*["']([A-Z0-9_]+)["']"""
)
_PROBLEM_BLOCK = re.compile(r"```json\n(\{\"type\":\"urn:dataset-downloads:problem:.*?)\n```", re.DOTALL)


def read_doc(name: str) -> str:
    """The text of ``docs/{name}``."""
    return (DOCS / name).read_text(encoding="utf-8")


def _modules(package: ModuleType) -> Iterator[ModuleType]:
    for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        yield importlib.import_module(info.name)


def error_codes() -> dict[str, int | None]:
    """Every error code defined in ``edge`` and ``worker``, with its HTTP status (``None``: no response).

    Imports every module of both packages, so an error class added anywhere is found: any exception class
    with a string ``code`` class attribute (the ``Problem`` hierarchy, and ``StreamAborted``).
    """
    found: dict[str, int | None] = {}
    for package in (edge, worker):
        for module in _modules(package):
            for _, cls in inspect.getmembers(module, inspect.isclass):
                code = getattr(cls, "code", None)
                if issubclass(cls, Exception) and isinstance(code, str):
                    status = getattr(cls, "status", None)
                    found[code] = status if isinstance(status, int) else None
    return dict(sorted(found.items()))


def sample_app(folder: Path) -> App:
    """The worker app over a tiny copy of the sample ``tree`` dataset (the columns of ``make run``'s data)."""
    write_samples(folder, scaled([spec for spec in SAMPLES if spec.dataset == "tree"], 0.001))
    return App(WorkerSettings(source=str(folder)), tracer=NullTracer())


def _edge_body(method: str, path: str, query: str) -> bytes:
    try:
        parse_request(method, path, query)
    except RequestError as error:
        return problem_body(error)
    raise AssertionError(f"{method} {path}?{query} was accepted")


def _worker_body(app: App, path: str, query: str) -> bytes:
    event = {"rawPath": path, "rawQueryString": query, "headers": {}, "requestContext": {"http": {"method": "GET"}}}
    return b"".join(app.handle(event).body)


def _deadline_body(app: App) -> bytes:
    """What the runtime loop sends when the deadline is 1,200 ms away before the first chunk (margin 1,500)."""
    context = InvocationContext("id", "arn", deadline_ms=10_000, clock=lambda: 8.8)
    try:
        next(runtime_loop.until_deadline([b"never sent"], context, runtime_loop.DEFAULT_DEADLINE_MARGIN_MS))
    except Exception as error:
        return b"".join(problem_response(error).body)
    raise AssertionError("the deadline did not stop the body")


def _too_large_body(app: App) -> bytes:
    def handle(event: object, context: object) -> Response:
        chunk = b"x" * (1 << 20)
        return Response(
            200, {"content-type": "text/csv"}, (chunk for _ in range(MAX_BUFFERED_RESPONSE // len(chunk) + 1))
        )

    body: str = run_buffered(handle, {}, None)["body"]
    return body.encode("ascii")


# The requests behind docs/api.md's example problem bodies, by the code each shows.
EXAMPLES: dict[str, Callable[[App], bytes]] = {
    "unknown-parameter": lambda app: _edge_body("GET", "/tree.csv", "organization_entity=1"),
    "method-not-allowed": lambda app: _edge_body("POST", "/tree.csv", ""),
    "unsupported-format": lambda app: _edge_body("GET", "/tree.xlsx", ""),
    "invalid-path": lambda app: _edge_body("GET", "/%2e%2e%2fetc.csv", ""),
    "invalid-parameter": lambda app: _edge_body("GET", "/tree.csv", "limit=0"),
    "uri-too-long": lambda app: _edge_body("GET", "/tree.csv", "reference=" + "x" * 2100),
    "dataset-not-found": lambda app: _worker_body(app, "/tre.csv", ""),
    "unknown-column": lambda app: _worker_body(app, "/tree.csv", "fields=nmae"),
    "invalid-filter-value": lambda app: _worker_body(app, "/tree.csv", "entity=12x"),
    "deadline-exceeded": _deadline_body,
    "response-too-large": _too_large_body,
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> App:
    return sample_app(tmp_path_factory.mktemp("data"))


@pytest.mark.parametrize("name", [*PARAMETERS, *ALIASES], ids=str)
def test_every_parameter_is_documented_in_the_api_guide(name: str) -> None:
    assert f"`{name}`" in read_doc("api.md")


@pytest.mark.parametrize("fmt", list(Format), ids=str)
def test_every_format_is_documented(fmt: Format) -> None:
    assert f"`{fmt.value}`" in read_doc("api.md")
    assert fmt.value.upper() in read_doc("formats.md").upper()


def test_error_discovery_finds_the_codes_of_every_module() -> None:
    codes = error_codes()
    assert codes["invalid-path"] == 400
    assert codes["deadline-exceeded"] == 504
    assert codes["response-too-large"] == 502
    assert codes["stream-aborted"] is None


@pytest.mark.parametrize(("code", "status"), list(error_codes().items()), ids=list(error_codes()))
def test_every_error_code_is_in_the_api_error_table_with_its_status(code: str, status: int | None) -> None:
    text = read_doc("api.md")
    if status is None:  # not a response (a stream cut after its first byte): named in the prose
        assert f"`{code}`" in text
    else:
        assert re.search(rf"^\| {status} \| `{re.escape(code)}` \|", text, re.MULTILINE), f"{status} `{code}`"


def test_the_error_table_lists_only_real_codes_and_statuses() -> None:
    rows = re.findall(r"^\| (\d{3}) \| `([a-z-]+)` \|", read_doc("api.md"), re.MULTILINE)
    codes = error_codes()
    assert rows
    assert [(code, codes.get(code)) for _, code in rows] == [(code, int(status)) for status, code in rows]


@pytest.mark.parametrize("code", list(EXAMPLES), ids=str)
def test_example_problem_bodies_are_what_the_code_sends(code: str, app: App) -> None:
    body = EXAMPLES[code](app).decode("ascii")
    assert f'"code":"{code}"' in body
    assert body in _PROBLEM_BLOCK.findall(read_doc("api.md"))


def test_every_example_problem_body_is_regenerated(app: App) -> None:
    generated = {produce(app).decode("ascii") for produce in EXAMPLES.values()}
    blocks = _PROBLEM_BLOCK.findall(read_doc("api.md"))
    assert len(blocks) == len(EXAMPLES)
    assert set(blocks) <= generated


def test_the_preflight_headers_are_documented_exactly() -> None:
    headers = preflight_response()["headers"]
    lines = "\n".join(f"{entry['key']}: {entry['value']}" for values in headers.values() for entry in values)
    assert f"```\n{lines}\n```" in read_doc("api.md")


def _env_constants(module: ModuleType) -> set[str]:
    return {
        value
        for name, value in vars(module).items()
        if name.isupper() and isinstance(value, str) and _ENV_NAME.fullmatch(value)
    }


def _env_reads() -> set[str]:
    names: set[str] = set()
    for path in sorted((ROOT / "worker").rglob("*.py")):
        for match in _ENV_READ.finditer(path.read_text(encoding="utf-8")):
            names.add(match.group(1) or match.group(2))
    return names


def worker_env_variables() -> list[str]:
    """Every environment variable the worker reads: the named constants, and literal reads anywhere."""
    modules = (worker_config, runtime_main, runtime_loop, importlib.import_module("worker.tracing"))
    names = set().union(*(_env_constants(module) for module in modules)) | _env_reads()
    return sorted(names)


def _configuration_row(name: str) -> str | None:
    section = read_doc("runtime.md").partition("\n## Configuration\n")[2].partition("\n## ")[0]
    return next((line for line in section.splitlines() if line.startswith(f"| `{name}` |")), None)


def test_the_worker_variables_are_found() -> None:
    found = worker_env_variables()
    for name in ("DATASET_SOURCE", "RESULTS_WAIT_SECONDS", "RUNTIME_DEADLINE_MARGIN_MS", "AWS_XRAY_DAEMON_ADDRESS"):
        assert name in found
    assert "ARROW_DEFAULT_MEMORY_POOL" in found  # a literal read in worker/__init__.py


@pytest.mark.parametrize("name", worker_env_variables(), ids=str)
def test_every_worker_variable_is_in_the_runtime_configuration_table(name: str) -> None:
    assert _configuration_row(name) is not None, f"`{name}` has no row in docs/runtime.md, Configuration"


def _setting_defaults() -> list[tuple[str, object]]:
    """``(variable, default)`` for each worker.config variable that sets a field of ``WorkerSettings``."""
    base = WorkerSettings.from_env({worker_config.DATASET_SOURCE: "data"})
    pairs = []
    for name in sorted(_env_constants(worker_config) - {worker_config.DATASET_SOURCE}):
        changed = WorkerSettings.from_env({worker_config.DATASET_SOURCE: "data", name: "7"})
        for field in fields(WorkerSettings):
            if getattr(changed, field.name) != getattr(base, field.name):
                pairs.append((name, getattr(base, field.name)))
    return pairs


def _rendered(default: object) -> str:
    if default is None:
        return "unset"
    if isinstance(default, float) and default.is_integer():
        default = int(default)
    return f"`{default}`"


@pytest.mark.parametrize(
    ("name", "default"),
    [*_setting_defaults(), (runtime_main.DEADLINE_MARGIN_VARIABLE, runtime_loop.DEFAULT_DEADLINE_MARGIN_MS)],
    ids=str,
)
def test_the_configuration_table_gives_the_code_defaults(name: str, default: object) -> None:
    row = _configuration_row(name)
    assert row is not None
    assert _rendered(default) in row, f"{name}: default {default!r}"


def _signature(function: Callable[..., object]) -> str:
    """``name(a, b=1, *, c=None)``: the call as the docs write it (no annotations; strings in double quotes)."""
    parts: list[str] = []
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind is parameter.KEYWORD_ONLY and "*" not in parts:
            parts.append("*")
        default = parameter.default
        if default is parameter.empty:
            parts.append(parameter.name)
        else:
            rendered = json.dumps(default) if isinstance(default, str) else repr(default)
            parts.append(f"{parameter.name}={rendered}")
    return f"{function.__name__}({', '.join(parts)})"


def test_the_start_server_signature_is_documented() -> None:
    assert f"`{_signature(start_server)}`" in read_doc("local.md")


@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param(r'annotation\.cache_key = "([^"]+)"', id="filter-expression"),
        pytest.param(r'"cache_key":"([^"]+)"', id="log-line"),
    ],
)
def test_cache_key_examples_are_canonical_forms(pattern: str) -> None:
    # The edge sends x-download-cache-key as the canonical form itself (edge/handler.py), without the encoding.
    examples = re.findall(pattern, read_doc("tracing.md"))
    assert examples
    for key in examples:
        path, _, query = key.partition("?")
        assert parse_request("GET", path, query).canonical == key
