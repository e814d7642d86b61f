"""Schema fuzzing with Schemathesis against the app's own OpenAPI document: every operation, with
valid and schema-violating input, never answers 5xx and always answers as documented; without a
token every protected operation answers 401.

Driven through Schemathesis' Python API rather than its pytest plugin, whose lazy loader does not
run on pytest 9.2 (it sets the removed `Node._nodeid`)."""

import uuid
from collections.abc import Callable

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service.main import create_app

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION_AND_MODE = 25
# Open to all; every other operation must take a bearer token (a new public route is added here on purpose).
PUBLIC_OPERATIONS = {"GET /healthz", "GET /readyz", "POST /auth/register", "POST /auth/token"}
# The Open Inference Protocol's server metadata and health, open as KServe and Triton serve them.
PUBLIC_OPERATIONS |= {"GET /v2", "GET /v2/health/live", "GET /v2/health/ready"}


@pytest.fixture(scope="module")
def fuzzed_app(make_settings):
    """Its own app, counting in its own memory, so the failed logins the fuzzer sends fill only its own rate limits."""
    app = create_app(make_settings(rate_limit_storage="memory://"))
    with TestClient(app):  # runs the start-up (migrations) once
        yield app


@pytest.fixture(scope="module")
def operations(fuzzed_app) -> list:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)
    return [result.ok() for result in schema.get_all_operations()]  # .ok() raises on an operation it cannot read


@pytest.fixture(scope="module")
def bearer(fuzzed_app, password) -> dict[str, str]:
    with TestClient(fuzzed_app) as client:
        username = f"fuzzer-{uuid.uuid4().hex[:8]}"
        assert client.post("/auth/register", json={"username": username, "password": password}).status_code == 201
        token = client.post("/auth/token", data={"username": username, "password": password}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def _fuzz(operations, modes, max_examples: int, check: Callable) -> list[str]:
    """Runs `check` on seeded, bounded examples of every operation; returns the failures, one line each."""
    failures = []
    for operation in operations:
        for mode in modes:

            @settings(
                max_examples=max_examples,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case):
                check(case)

            try:
                run()
            except Unsatisfiable:  # nothing to vary: e.g. no negative input exists for an operation without parameters
                continue
            except Exception as exc:  # noqa: BLE001 (each operation's failure is collected and reported)
                failures.append(f"{operation.label} ({mode.value}): {type(exc).__name__}: {str(exc)[:600]}")
    return failures


def test_every_operation_answers_as_documented(operations, bearer):
    # Logging out revokes the token every other operation is fuzzed with: it goes last.
    operations = sorted(operations, key=lambda operation: operation.label == "POST /auth/logout")
    failures = _fuzz(
        operations,
        [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        EXAMPLES_PER_OPERATION_AND_MODE,
        lambda case: case.call_and_validate(headers=bearer, checks=CHECKS),
    )
    assert not failures, "\n".join(failures)


def test_protected_operations_need_a_token(operations):
    protected = [op for op in operations if op.label not in PUBLIC_OPERATIONS]
    assert protected

    def check(case):
        response = case.call()
        if response.status_code == 422 and response.json()["detail"][0]["type"] == "json_invalid":
            return  # a body that is not JSON at all is refused before any route code runs, token or not
        assert response.status_code == 401, response.text[:200]
        assert response.headers["www-authenticate"] == ["Bearer"]

    failures = _fuzz(protected, [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], 10, check)
    assert not failures, "\n".join(failures)


def test_only_the_public_operations_are_open(fuzzed_app):
    open_operations = {
        f"{method.upper()} {path}"
        for path, operations in fuzzed_app.openapi()["paths"].items()
        for method, operation in operations.items()
        if not operation.get("security")
    }
    assert open_operations == PUBLIC_OPERATIONS
