"""Liveness and readiness probes, unauthenticated."""

from fastapi.testclient import TestClient

from service.core.db import create_db_engine


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert len(response.headers["x-request-id"]) == 32


def test_readyz_reports_models_and_database(client, index):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"ready": True, "models_loaded": len(index["models"]), "database": "ok"}


def test_readyz_is_503_when_the_database_is_unreachable(make_settings, app):
    from service.main import create_app

    broken = create_app(make_settings())
    broken.state.engine = create_db_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # nothing listens on port 1
    response = TestClient(broken).get("/readyz")  # no lifespan: the migration would fail first
    assert response.status_code == 503
    assert response.json()["ready"] is False and response.json()["database"] == "unreachable"
