"""Browser-facing hardening and leak-free errors: security headers, CORS closed unless configured,
docs that can be switched off, and no secret or traceback in any response or log line."""

import logging
import re
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from service.core.config import Settings
from service.main import create_app
from service.middleware import RequestIdMiddleware
from inference import Model

STRICT_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'"


def _assert_hardened(response, cacheable: bool = False) -> None:
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["content-security-policy"].startswith(STRICT_CSP)
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert ("no-store" not in headers.get("cache-control", "")) if cacheable else headers["cache-control"] == "no-store"


def test_api_answers_carry_the_security_headers_and_are_not_cached(client, user, auth, examples):
    dataset, by_class = next(iter(examples.items()))
    record = next(iter(by_class.values()))
    responses = [
        client.get("/healthz"),
        client.post("/auth/token", data={"username": user["username"], "password": user["password"]}),
        client.post("/auth/token", data={"username": user["username"], "password": "wrong password"}),
        client.get("/auth/me"),
        client.get("/models", headers=auth),
        client.post("/predict", headers=auth, json={"dataset": dataset, "record": record}),
        client.post("/predict/batch", headers=auth, json={"dataset": dataset, "records": [record]}),
        client.post("/predict", headers=auth, json={"dataset": dataset}),
        client.post("/predict", headers=auth | {"content-type": "application/json"}, content=b"[" * (5 * 1024 * 1024)),
    ]
    assert [r.status_code for r in responses] == [200, 200, 401, 401, 200, 200, 200, 422, 413]
    for response in responses:
        _assert_hardened(response)


def test_the_console_gets_the_strict_policy_and_its_static_files_may_be_cached(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    _assert_hardened(page)
    assert "<script>" not in page.text and " style=" not in page.text  # nothing inline that the policy would block
    static = re.search(r'"(/static/[^"]+)"', page.text).group(1)
    _assert_hardened(client.get(static), cacheable=True)


def test_the_docs_page_is_only_kept_out_of_frames(client):
    """Swagger UI loads its script and styles from a CDN and starts with an inline script: the strict policy would blank it."""
    docs = client.get("/docs")
    assert docs.status_code == 200 and "cdn.jsdelivr.net" in docs.text
    assert docs.headers["content-security-policy"] == "frame-ancestors 'none'"
    assert docs.headers["x-frame-options"] == "DENY" and docs.headers["x-content-type-options"] == "nosniff"


def test_cors_is_closed_by_default(client):
    preflight = client.options(
        "/predict", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    simple = client.get("/healthz", headers={"Origin": "https://evil.example"})
    for response in (preflight, simple):
        assert not any(name.startswith("access-control-") for name in response.headers)


@pytest.fixture(scope="module")
def production_like_client(make_settings):
    """An app with the docs switched off and one browser origin allowed."""
    app = create_app(make_settings(docs_enabled=False, cors_origins=["https://console.example.org"]))
    with TestClient(app) as client:
        yield client


def test_docs_can_be_switched_off(production_like_client):
    for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
        assert production_like_client.get(path).status_code == 404, path
    assert production_like_client.get("/healthz").status_code == 200


def test_docs_default_on_in_development_and_off_in_production(monkeypatch):
    monkeypatch.delenv("NIDS_DOCS_ENABLED", raising=False)
    key = "k" * 40
    assert Settings(jwt_secret=key).docs_enabled is True
    assert Settings(jwt_secret=key, env="production").docs_enabled is False
    monkeypatch.setenv("NIDS_DOCS_ENABLED", "true")
    assert Settings(jwt_secret=key, env="production").docs_enabled is True


def test_cors_allows_exactly_the_configured_origins(production_like_client):
    request = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
    allowed = production_like_client.options("/predict", headers={"Origin": "https://console.example.org"} | request)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://console.example.org"
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in allowed.headers  # bearer tokens, never cookies
    refused = production_like_client.options("/predict", headers={"Origin": "https://evil.example"} | request)
    assert "access-control-allow-origin" not in refused.headers


def test_cors_origins_from_the_environment_are_checked(monkeypatch):
    monkeypatch.setenv("NIDS_CORS_ORIGINS", "https://a.example.org, http://localhost:3000")
    assert Settings(jwt_secret="k" * 40).cors_origins == ["https://a.example.org", "http://localhost:3000"]
    monkeypatch.setenv("NIDS_CORS_ORIGINS", "https://a.example.org/console")
    with pytest.raises(ValidationError, match="is not an origin"):
        Settings(jwt_secret="k" * 40)


def test_no_secret_or_traceback_in_any_answer_or_log_line(
    client, user, auth, examples, signing_key, set_rate_limits, monkeypatch, caplog
):
    set_rate_limits(login_limit_per_username="2/minute")

    def explode(self, encoded):
        raise RuntimeError(f"model failed, key {signing_key}")

    monkeypatch.setattr(Model, "predict_encoded", explode)
    dataset, by_class = next(iter(examples.items()))
    secret_password = f"pw-{signing_key}"
    with caplog.at_level(logging.DEBUG):
        responses = [
            client.post("/predict", headers=auth, json={"dataset": dataset, "record": next(iter(by_class.values()))}),
            client.post("/auth/register", json={"username": signing_key, "password": secret_password}),
            client.post("/auth/register", json={"username": user["username"], "password": secret_password}),
            client.post("/predict", headers=auth, json={"dataset": dataset, "model": signing_key, "record": {}}),
            client.get("/auth/me", headers={"Authorization": f"Bearer {signing_key}"}),
            *(client.post("/auth/token", data={"username": user["username"], "password": secret_password}) for _ in range(3)),
            client.post("/auth/register", headers={"content-type": "application/json"}, content=b"{" * (5 * 1024 * 1024)),
        ]
    assert [r.status_code for r in responses] == [500, 422, 409, 422, 401, 401, 401, 429, 413]
    assert any(record.levelno == logging.ERROR for record in caplog.records)  # the 500 was logged...
    for text in [caplog.text, *(r.text for r in responses), *(str(r.headers) for r in responses)]:
        assert signing_key not in text and "Traceback" not in text  # ...without its message or traceback
    assert all(record.exc_info is None for record in caplog.records)


async def _failing_app(scope, receive, send):
    raise RuntimeError("failure for the traceback")


def test_tracebacks_are_logged_only_when_asked_for(caplog):
    for log_tracebacks in (False, True):
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="service.middleware"):
            response = TestClient(RequestIdMiddleware(_failing_app, log_tracebacks=log_tracebacks)).get("/")
        assert response.status_code == 500 and "RuntimeError" in caplog.text
        assert ("Traceback" in caplog.text) is log_tracebacks


def test_an_unreachable_database_stops_start_up_with_one_line_and_no_password(tmp_path, artifacts_dir, signing_key):
    env = {
        "NIDS_ARTIFACTS_DIR": str(artifacts_dir),
        "NIDS_DATABASE_URL": "postgresql+psycopg://nids:db-password-123@127.0.0.1:1/nids",  # nothing listens on port 1
        "NIDS_JWT_SECRET": signing_key,
        "PATH": "",
    }
    result = subprocess.run([sys.executable, "-m", "service"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith("nids-service: cannot prepare the database: ") and len(result.stderr.splitlines()) == 1
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "db-password-123" not in output and signing_key not in output
