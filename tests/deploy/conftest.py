"""Fixtures for the container files. Images cannot be built here (no registry for base images), so
these tests read the Dockerfiles and the compose file and run what the containers would run,
outside containers: the service image's Python environment rebuilt from its Dockerfile, the
image's command with the compose environment, and the trainer image's command."""

import os
import shlex
import shutil
import subprocess
import sys
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import dockerfile
import pytest
import yaml
from docker.utils.build import exclude_paths
from dotenv import dotenv_values

from bench.processes import Server, free_port, serve

REPO = Path(__file__).resolve().parents[2]
SERVICE_DOCKERFILE = REPO / "docker" / "service.Dockerfile"
TRAINER_DOCKERFILE = REPO / "docker" / "trainer.Dockerfile"
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
TOOLS = Path(sys.executable).parent  # hadolint and shellcheck come with the dev extra
TEST_SECRET = "deploy-test-signing-key-" + "k" * 32
START_TIMEOUT_S = 90


@dataclass(frozen=True)
class Stage:
    name: str | None
    base: str
    commands: list[dockerfile.Command]

    def all(self, instruction: str) -> list[dockerfile.Command]:
        return [c for c in self.commands if c.cmd == instruction]

    def one(self, instruction: str) -> dockerfile.Command:
        found = self.all(instruction)
        assert len(found) == 1, f"expected one {instruction} in stage {self.name or self.base}, found {len(found)}"
        return found[0]

    def env(self) -> dict[str, str]:
        """ENV values, `KEY=VALUE` or `KEY VALUE` form alike (the parser yields key, value pairs)."""
        pairs = [value for command in self.all("ENV") for value in command.value]
        return dict(zip(pairs[::2], pairs[1::2], strict=True))


def stages(path: Path) -> list[Stage]:
    """The build stages of a Dockerfile, parsed by Docker's own parser (the `dockerfile` package)."""
    found: list[Stage] = []
    for command in dockerfile.parse_file(str(path)):
        if command.cmd == "FROM":
            value = command.value
            found.append(Stage(value[2] if len(value) == 3 else None, value[0], []))
        else:
            found[-1].commands.append(command)
    return found


def without_nids_variables() -> dict[str, str]:
    """This process's environment less anything the compose file or the service would read from it."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("NIDS_", "POSTGRES_", "COMPOSE_"))}


def docker_compose(*args: str, env_file: Path = ENV_EXAMPLE) -> subprocess.CompletedProcess:
    if not shutil.which("docker-compose"):
        pytest.fail("docker-compose not found: install Debian's package (bash .ci/deploy-tools.sh)")
    command = ["docker-compose", "-f", str(COMPOSE_FILE), "--env-file", str(env_file), *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=without_nids_variables(), timeout=60)


@pytest.fixture(scope="session")
def compose() -> dict:
    """`docker-compose config` with the example env file: the stack as Compose resolves it."""
    result = docker_compose("config")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@pytest.fixture(scope="session")
def env_example() -> dict[str, str]:
    return dotenv_values(ENV_EXAMPLE)


@pytest.fixture(scope="session")
def service_stages() -> list[Stage]:
    return stages(SERVICE_DOCKERFILE)


@pytest.fixture(scope="session")
def trainer_stages() -> list[Stage]:
    return stages(TRAINER_DOCKERFILE)


def build_context(dockerfile_path: Path) -> set[str]:
    """The files `docker build` would send, after .dockerignore (docker-py's implementation)."""
    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()]
    patterns = [p for p in patterns if p and not p.startswith("#")]
    return {p for p in exclude_paths(str(REPO), patterns, str(dockerfile_path.relative_to(REPO))) if (REPO / p).is_file()}


def copy_from_context(context: set[str], sources: list[str], destination: Path) -> None:
    """COPY semantics for local sources: a file lands in the destination folder, a folder's content
    lands in the destination; only files in the build context exist."""
    for source in sources:
        inside = sorted(p for p in context if p == source or p.startswith(source.rstrip("/") + "/"))
        assert inside, f"COPY {source}: not in the build context (check .dockerignore)"
        for path in inside:
            target = destination / Path(path).name if path == source else destination / Path(path).relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / path, target)


@pytest.fixture(scope="session")
def service_image_python(service_stages, tmp_path_factory) -> Path:
    """The service image's Python environment, made the way its build stage makes it: a fresh venv,
    the stage's COPY sources from the build context, then the stage's own `pip install` command
    (less --no-cache-dir, which changes only pip's download cache, so CI reuses its downloads)."""
    build = service_stages[0]
    assert f"python:{sys.version_info.major}.{sys.version_info.minor}" in build.base, "rebuild with the image's Python"
    root = tmp_path_factory.mktemp("service-image")
    venv, source = root / "venv", root / "src"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    context = build_context(SERVICE_DOCKERFILE)
    for copy in build.all("COPY"):
        *sources, destination = copy.value
        copy_from_context(context, sources, source / destination)
    installs = [shlex.split(run.value[0]) for run in build.all("RUN") if run.value[0].startswith("pip install")]
    assert len(installs) == 1, "the build stage should install the project with one `pip install`"
    command = [str(venv / "bin" / "pip"), *(arg for arg in installs[0][1:] if arg != "--no-cache-dir")]
    result = subprocess.run(command, cwd=source, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return venv / "bin" / "python"


@pytest.fixture(scope="session")
def service_database_url(new_database_url) -> str:
    return new_database_url("deploy")


def host_path(compose_service: dict, container_path: str) -> Path:
    """The host folder compose mounts at `container_path`."""
    for volume in compose_service["volumes"]:
        source, target, *_ = volume.split(":")
        if target == container_path:
            return Path(source)
    raise AssertionError(f"nothing is mounted at {container_path}")


@pytest.fixture(scope="session")
def service_environment(compose, service_stages, service_database_url) -> dict[str, str]:
    """What the service container sees: the image's ENV, then compose's environment; then what must
    differ outside a container: the test database and key, loopback, and the mounted artifacts' host path."""
    image_env = service_stages[-1].env()
    image_env.pop("PATH")
    service = compose["services"]["service"]
    return (
        image_env
        | {k: str(v) for k, v in service["environment"].items()}
        | {
            "NIDS_DATABASE_URL": service_database_url,
            "NIDS_JWT_SECRET": TEST_SECRET,
            "NIDS_HOST": "127.0.0.1",  # the container listens on all of its own interfaces; here, loopback only
            "NIDS_ARTIFACTS_DIR": str(host_path(service, image_env["NIDS_ARTIFACTS_DIR"])),
        }
    )


def start_service(python: Path, environment: dict[str, str], workdir: Path, command: list[str]) -> AbstractContextManager[Server]:
    """The image's CMD with `python` meaning the given interpreter, run in `workdir` until the block ends;
    yields once /readyz says ready. Its output goes to `workdir/service.log`."""
    port = free_port()
    argv = [str(python) if arg == "python" else arg for arg in command]
    env = environment | {"NIDS_PORT": str(port)}
    return serve(argv, port, workdir / "service.log", "/readyz", env, cwd=workdir, timeout=START_TIMEOUT_S)
