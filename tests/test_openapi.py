"""docs/openapi.yaml is a valid OpenAPI 3.1 document and describes what the code does.

Every query parameter and alias of the request contract, every format and its content type, every error code
under its status, the preflight's headers, the success headers the worker sends, and the example problem bodies
of docs/api.md validate against its problem schema.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, cast

import pytest
from openapi_schema_validator import validate as validate_instance
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from edge.cloudfront import preflight_response
from edge.contract import (
    ALIASES,
    MAX_FIELDS,
    MAX_LIMIT,
    MAX_VALUE_LENGTH,
    MAX_VALUES_PER_COLUMN,
    PARAMETERS,
    Format,
    parse_request,
)
from edge.errors import RequestError
from tests.test_docs import DOCS, EXAMPLES, error_codes, sample_app
from worker.app import App
from worker.encoders import ENCODERS

OPENAPI = DOCS / "openapi.yaml"
DOWNLOAD = "/{dataset}.{format}"
Node = dict[str, Any]


def _load() -> Node:
    document, _ = read_from_filename(str(OPENAPI))
    return cast(Node, document)


SPEC = _load()


def resolve(node: Node) -> Node:
    """Follow a local ``$ref`` (``#/components/...``) to the node it names."""
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _download_parameters(where: str) -> dict[str, Node]:
    found = [resolve(p) for p in SPEC["paths"][DOWNLOAD]["parameters"]]
    return {p["name"]: p for p in found if p["in"] == where}


def _get_response(status: int | str) -> Node:
    return resolve(SPEC["paths"][DOWNLOAD]["get"]["responses"][str(status)])


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> App:
    return sample_app(tmp_path_factory.mktemp("data"))


def test_the_document_is_valid_openapi_3_1() -> None:
    assert SPEC["openapi"].startswith("3.1.")
    validate(SPEC)


def test_the_validator_rejects_a_broken_document() -> None:
    broken = {**SPEC, "paths": {DOWNLOAD: {"get": {"responses": {"200": {}}}}}}  # a response without description
    with pytest.raises(OpenAPIValidationError, match="description"):
        validate(broken)


def test_the_query_parameters_are_the_contract_s() -> None:
    assert set(_download_parameters("query")) == {*PARAMETERS, *ALIASES}


@pytest.mark.parametrize("name", [*PARAMETERS, *ALIASES], ids=str)
def test_every_parameter_is_described(name: str) -> None:
    assert _download_parameters("query")[name].get("description")


def test_the_bounds_are_the_contract_s() -> None:
    query = _download_parameters("query")
    assert (query["limit"]["schema"]["minimum"], query["limit"]["schema"]["maximum"]) == (1, MAX_LIMIT)
    assert query["fields"]["schema"]["maxItems"] == MAX_FIELDS
    values = resolve(query["entity"]["schema"])
    assert values["maxItems"] == MAX_VALUES_PER_COLUMN
    assert (values["items"]["minLength"], values["items"]["maxLength"]) == (1, MAX_VALUE_LENGTH)


def test_the_format_enum_is_every_format() -> None:
    assert _download_parameters("path")["format"]["schema"]["enum"] == [fmt.value for fmt in Format]


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("tree", id="plain"),
        pytest.param("Conservation-Area", id="uppercase"),
        pytest.param("a" * 100, id="longest"),
        pytest.param("a" * 101, id="too-long"),
        pytest.param("-tree", id="leading-dash"),
        pytest.param("tree-", id="trailing-dash"),
        pytest.param("tr_ee", id="underscore"),
        pytest.param("7", id="one-digit"),
    ],
)
def test_the_dataset_pattern_accepts_what_the_contract_accepts(name: str) -> None:
    pattern = _download_parameters("path")["dataset"]["schema"]["pattern"]
    try:
        parse_request("GET", f"/{name}.csv", "")
        accepted = True
    except RequestError:
        accepted = False
    assert bool(re.search(pattern, name)) is accepted


def test_the_success_content_types_are_the_encoders() -> None:
    assert set(_get_response(200)["content"]) == {spec.content_type for spec in ENCODERS.values()}


def test_the_success_headers_are_what_the_worker_sends(app: App) -> None:
    event = {
        "rawPath": "/tree.csv",
        "rawQueryString": "limit=1",
        "headers": {"accept-encoding": "gzip"},
        "requestContext": {"http": {"method": "HEAD"}},
    }
    sent = {name.lower() for name in app.handle(event).headers} - {"content-type"}
    assert sent == {name.lower() for name in _get_response(200)["headers"]}


@pytest.mark.parametrize(("code", "status"), list(error_codes().items()), ids=list(error_codes()))
def test_every_error_code_is_under_its_status(code: str, status: int | None) -> None:
    if status is None:  # not a response: named in the description
        assert f"`{code}`" in OPENAPI.read_text(encoding="utf-8")
        return
    assert f"`{code}`" in _get_response(status)["description"]
    assert code in SPEC["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]


def test_the_error_statuses_are_the_code_s() -> None:
    documented = {int(status) for status in SPEC["paths"][DOWNLOAD]["get"]["responses"] if int(status) >= 400}
    assert documented == {status for status in error_codes().values() if status is not None}


@pytest.mark.parametrize("code", list(EXAMPLES), ids=str)
def test_the_example_problems_match_the_problem_schema(code: str, app: App) -> None:
    body = json.loads(EXAMPLES[code](app))
    validate_instance(body, SPEC["components"]["schemas"]["Problem"])
    content = _get_response(body["status"])["content"]
    assert content["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_the_preflight_headers_are_the_edge_s() -> None:
    documented = SPEC["paths"][DOWNLOAD]["options"]["responses"]["204"]["headers"]
    sent = {entry["key"]: entry["value"] for values in preflight_response()["headers"].values() for entry in values}
    assert {name: resolve(header)["schema"]["const"] for name, header in documented.items()} == sent


@pytest.mark.parametrize("path", ["/source/{dataset}.parquet", "/results/{name}"], ids=str)
def test_the_stored_object_paths_are_described(path: str) -> None:
    assert set(SPEC["paths"][path]) >= {"get", "head", "parameters"}


def test_the_results_name_pattern_matches_real_names() -> None:
    from worker.results import result_name  # only this test needs it

    parameters = {p["name"]: p for p in SPEC["paths"]["/results/{name}"]["parameters"] if "name" in p}
    pattern = parameters["name"]["schema"]["pattern"]
    for encoding in ("gzip", "identity"):
        assert re.search(pattern, result_name("/tree.csv?entity=1", "v1", encoding, "csv"))


def test_the_guides_link_the_document() -> None:
    assert "(openapi.yaml)" in (DOCS / "api.md").read_text(encoding="utf-8")
    assert "(docs/openapi.yaml)" in (Path(DOCS).parent / "README.md").read_text(encoding="utf-8")
