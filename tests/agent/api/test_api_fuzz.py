"""Property-based checks of the API against its own OpenAPI document (schemathesis).

Generated requests, valid and invalid, never get a server error, and every response has a
documented status code, content type and body schema.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
import schemathesis.specs.openapi.schemas  # noqa: F401  see below
from hypothesis import HealthCheck, given, settings

from tests.agent.api.conftest import LiveApi

# schemathesis loads its OpenAPI modules on first use, and pytest compiles them then (it rewrites
# a plugin's asserts). Compiling in the test's thread while the live API's thread parses source
# (LangChain reads a function's source with `ast`) can raise "AST constructor recursion depth
# mismatch" on CPython 3.11 (gh-106905): so they are imported here, at collection.


def operations(live_api: LiveApi) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{live_api.url}/openapi.json")
    return [r.ok() for r in schema.include(path_regex="^/v1/").get_all_operations()]


@pytest.mark.parametrize(
    "method_path", ["POST /v1/tickets", "GET /v1/tickets/{ticket_id}", "POST /v1/outcomes"]
)
def test_the_api_honours_its_openapi_document(live_api: LiveApi, method_path: str) -> None:
    method, path = method_path.split()
    [operation] = [o for o in operations(live_api) if o.method.upper() == method and o.path == path]
    headers = {"Authorization": f"Bearer {live_api.setup.api_key}"}
    # An outcome's queue must be in the serving version's taxonomy, which a static schema
    # cannot enumerate: a schema-valid outcome may rightly be refused with 422.
    excluded = [schemathesis.checks.positive_data_acceptance] if "outcomes" in path else []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        # The same examples every run: a find is a real bug, never a lucky draw in CI.
        derandomize=True,
    )
    def check(case: Any) -> None:
        case.call_and_validate(headers=headers, excluded_checks=excluded)

    check()
