"""Fixtures for the browser tests: the app served by uvicorn on a loopback port (real artifacts,
SQLite in a temporary folder), Debian's Chromium driven by Playwright, and registered users.

Chromium comes from `bash .ci/browser-tools.sh`; `playwright install` is never run (it downloads browsers)."""

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright

from preprocess.metadata import ModelMetadata, load_metadata
from service.core.config import Settings
from service.main import create_app
from tests.inference.conftest import write_novelty_artifacts

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "docs" / "screenshots"
CHROMIUM = Path(os.environ.get("NIDS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TEST_SECRET = "web-test-signing-key-" + "w" * 32
PASSWORD = "correct horse battery"
START_TIMEOUT_S = 30
# Small limits, so that a file of 50 rows takes several requests and meets the body size limit too.
BATCH_LIMIT = 20
MAX_BODY_BYTES = 16 * 1024


@contextmanager
def serving(artifacts: Path, database: Path) -> Iterator[str]:
    """The base URL of an app serving `artifacts`, on a socket bound before start-up, so no other process can take the port."""
    settings = Settings(
        artifacts_dir=artifacts,
        database_url=f"sqlite:///{database}",
        jwt_secret=TEST_SECRET,
        batch_limit=BATCH_LIMIT,
        max_body_bytes=MAX_BODY_BYTES,
        register_limit_per_client="1000/minute",  # every test registers a user from this one address
    )
    uvicorn_server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=uvicorn_server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not uvicorn_server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the app did not start; see the log above")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    uvicorn_server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory, artifacts_dir) -> Iterator[str]:
    with serving(artifacts_dir, tmp_path_factory.mktemp("web-db") / "nids.db") as url:
        yield url


@pytest.fixture(scope="session")
def novelty_server(tmp_path_factory, artifacts_dir) -> Iterator[str]:
    """The tiny model with a novelty detector (tests/inference/conftest.py) served alone: the shipped models have none."""
    root = write_novelty_artifacts(tmp_path_factory.mktemp("web-novelty"), artifacts_dir)
    with serving(root, tmp_path_factory.mktemp("web-novelty-db") / "nids.db") as url:
        yield url


@pytest.fixture(scope="session")
def api(server) -> Iterator[httpx.Client]:
    """The JSON API, to set up users and to learn what the pages must show."""
    with httpx.Client(base_url=server, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} not found: install Debian's Chromium with `bash .ci/browser-tools.sh`")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server) -> Iterator[Page]:
    """A fresh tab of a laptop-sized window. Fails the test on any script error, or anything the
    service's Content-Security-Policy blocks (no inline script or style is allowed)."""
    context = browser.new_context(base_url=server, viewport={"width": 1366, "height": 768}, accept_downloads=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    failures: list[str] = []
    page.on("pageerror", lambda error: failures.append(f"script error: {error}"))
    page.on("console", lambda m: "Content Security Policy" in m.text and failures.append(f"CSP: {m.text}"))
    yield page
    context.close()
    assert not failures, failures


@pytest.fixture
def new_username() -> Callable[[], str]:
    return lambda: f"analyst-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def user(api, new_username) -> dict[str, str]:
    """A registered user: {'username', 'password', 'token'}."""
    username = new_username()
    assert api.post("/auth/register", json={"username": username, "password": PASSWORD}).status_code == 201
    token = api.post("/auth/token", data={"username": username, "password": PASSWORD}).json()["access_token"]
    return {"username": username, "password": PASSWORD, "token": token}


@pytest.fixture
def auth(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {user['token']}"}


@pytest.fixture
def catalog(api, auth) -> dict[str, dict]:
    """model id -> what GET /models says about it."""
    return {model["id"]: model for model in api.get("/models", headers=auth).json()["models"]}


@pytest.fixture(scope="session")
def metadata(artifacts_dir) -> dict[str, ModelMetadata]:
    """model id -> its metadata.json, the one source of the fields the pages show."""
    index = json.loads((artifacts_dir / "index.json").read_text())
    return {entry["id"]: load_metadata(artifacts_dir / entry["path"] / "metadata.json") for entry in index["models"]}


@pytest.fixture(scope="session")
def log_in() -> Callable[[Page, dict[str, str]], None]:
    """Logs in through the log-in form, with the keyboard only."""

    def log_in(page: Page, user: dict[str, str]) -> None:
        page.goto("/")
        page.get_by_role("form", name="Log in").get_by_label("Username").focus()
        page.keyboard.type(user["username"])
        page.keyboard.press("Tab")
        page.keyboard.type(user["password"])
        page.keyboard.press("Enter")
        expect(page.get_by_text(f"Signed in as {user['username']}")).to_be_visible()

    return log_in


@pytest.fixture
def logged_in(page, user, log_in) -> Page:
    log_in(page, user)
    return page


@pytest.fixture(scope="session")
def verdict_of() -> Callable[[dict, dict], str]:
    """What the pages must say of an API prediction by a model (a `GET /models` entry)."""

    def verdict(prediction: dict, model: dict) -> str:
        if not prediction["is_attack"]:
            return "Normal traffic"
        return "Attack detected" if model["task"] == "binary" else f"Attack detected: {prediction['label']}"

    return verdict


@pytest.fixture(scope="session")
def screenshot() -> Callable[[Page, str], None]:
    """Saves what the window shows to docs/screenshots/NAME.png (referenced from the README)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return lambda page, name: page.screenshot(path=SCREENSHOTS / f"{name}.png")
