"""docker-compose.yml as a real Compose implementation resolves it (`docker-compose config` with
.env.example), checked against the Dockerfiles and the service's settings."""

import subprocess
import sys

import pytest
from sqlalchemy.engine import make_url

from tests.deploy.conftest import REPO, docker_compose, host_path, without_nids_variables


def test_compose_brings_up_db_and_service_and_keeps_the_trainer_behind_its_profile(compose):
    services = compose["services"]
    assert {name for name, service in services.items() if not service.get("profiles")} == {"db", "service"}
    assert services["trainer"]["profiles"] == ["train"]


def test_db_is_postgresql_on_a_named_volume_with_a_health_check(compose):
    db = compose["services"]["db"]
    assert db["image"].startswith("postgres:")
    volume = db["volumes"][0].split(":")
    assert volume[1] == "/var/lib/postgresql/data" and volume[0] in compose["volumes"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])


def test_service_waits_for_a_healthy_db_and_uses_it(compose):
    service, db = compose["services"]["service"], compose["services"]["db"]
    assert service["depends_on"] == {"db": {"condition": "service_healthy"}}
    url = make_url(service["environment"]["NIDS_DATABASE_URL"])
    assert (url.get_backend_name(), url.host, url.port) == ("postgresql", "db", 5432)
    db_env = db["environment"]
    assert (url.username, url.password, url.database) == (
        db_env["POSTGRES_USER"],
        db_env["POSTGRES_PASSWORD"],
        db_env["POSTGRES_DB"],
    )


def test_service_runs_in_production_with_the_key_from_the_env_file(compose, env_example):
    environment = compose["services"]["service"]["environment"]
    assert environment["NIDS_ENV"] == "production"
    assert environment["NIDS_JWT_SECRET"] == env_example["NIDS_JWT_SECRET"]
    assert int(environment["NIDS_WORKERS"]) >= 1


def test_service_builds_from_its_dockerfile_and_serves_the_artifacts_read_only_on_loopback(compose, service_stages):
    service = compose["services"]["service"]
    assert (REPO / service["build"]["dockerfile"]) == REPO / "docker" / "service.Dockerfile"
    mount = service_stages[-1].env()["NIDS_ARTIFACTS_DIR"]
    assert host_path(service, mount) == REPO / "artifacts"
    assert next(v for v in service["volumes"] if f":{mount}:" in v).endswith(":ro")
    assert service["ports"] == [f"127.0.0.1:8000:{service_stages[-1].one('EXPOSE').value[0]}/tcp"]


@pytest.mark.compose  # runs docker-compose itself, not through the `compose` fixture
def test_compose_refuses_to_start_without_the_secrets(tmp_path):
    env_file = tmp_path / "incomplete.env"
    env_file.write_text("POSTGRES_PASSWORD=abc\n")
    result = docker_compose("config", env_file=env_file)
    assert result.returncode != 0
    assert "NIDS_JWT_SECRET" in result.stderr and ".env.example" in result.stderr


def test_the_placeholder_key_of_env_example_cannot_reach_production(env_example):
    """Copying .env.example without filling in the key gives a service that refuses to start."""
    environment = without_nids_variables() | {"NIDS_ENV": "production", "NIDS_JWT_SECRET": env_example["NIDS_JWT_SECRET"]}
    result = subprocess.run(
        [sys.executable, "-m", "service"], env=environment, capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert result.returncode != 0
    assert "NIDS_JWT_SECRET" in result.stderr and "Traceback" not in result.stderr


def test_env_file_is_ignored_by_git_and_its_example_is_not():
    def ignored(name: str) -> bool:
        return subprocess.run(["git", "check-ignore", "-q", name], cwd=REPO).returncode == 0

    assert ignored(".env")
    assert not ignored(".env.example")
