"""The curl scripts end to end against a live service: the service image's command with the compose
environment (PostgreSQL when NIDS_TEST_DATABASE_URL is set), on a free loopback port."""

import csv
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.processes import Server
from tests.deploy.conftest import REPO, TOOLS, start_service, without_nids_variables

SCRIPTS = REPO / "scripts"
EXAMPLES = SCRIPTS / "examples"
PASSWORD = "correct horse battery"
SINGLE_EXAMPLES = sorted(p for p in EXAMPLES.glob("*.json") if not p.stem.endswith("-batch"))


@pytest.fixture(scope="module")
def service(service_stages, service_environment, tmp_path_factory) -> Iterator[Server]:
    command = list(service_stages[-1].one("CMD").value)
    with start_service(Path(sys.executable), service_environment, tmp_path_factory.mktemp("service"), command) as running:
        yield running


def run(script: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SCRIPTS / script), *args], capture_output=True, text=True, env=without_nids_variables() | env, timeout=60
    )


@pytest.fixture(scope="module")
def account(service) -> dict[str, str]:
    """A registered user and the environment the scripts need: NIDS_URL, NIDS_PASSWORD, NIDS_TOKEN."""
    username = f"analyst-{uuid.uuid4().hex[:8]}"
    registered = run("register.sh", username, NIDS_URL=service.url, NIDS_PASSWORD=PASSWORD)
    assert registered.returncode == 0, registered.stderr
    assert registered.stdout.startswith(f"registered user '{username}'")
    token = run("token.sh", username, NIDS_URL=service.url, NIDS_PASSWORD=PASSWORD)
    assert token.returncode == 0, token.stderr
    assert len(token.stdout.splitlines()) == 1 and token.stdout.count(".") == 2  # the JWT alone
    return {"NIDS_URL": service.url, "NIDS_TOKEN": token.stdout.strip(), "username": username}


def _env(account: dict) -> dict[str, str]:
    return {"NIDS_URL": account["NIDS_URL"], "NIDS_TOKEN": account["NIDS_TOKEN"]}


def _api(account: dict, path: str, body: dict) -> dict:
    response = httpx.post(f"{account['NIDS_URL']}{path}", json=body, headers={"Authorization": f"Bearer {account['NIDS_TOKEN']}"})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_token_works_for_the_api(account):
    me = httpx.get(f"{account['NIDS_URL']}/auth/me", headers={"Authorization": f"Bearer {account['NIDS_TOKEN']}"})
    assert me.json()["username"] == account["username"]


@pytest.mark.parametrize("example", SINGLE_EXAMPLES, ids=lambda p: p.stem)
def test_predict_prints_the_api_answer_for_each_example(account, example):
    result = run("predict.sh", str(example), **_env(account))
    assert result.returncode == 0, result.stderr
    expected = _api(account, "/predict", json.loads(example.read_text()))
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["model:", expected["model"]]
    assert lines[1].startswith(f"prediction: {expected['prediction']['label']} (")
    assert len(lines) == 3 + len(expected["prediction"]["probabilities"])


def test_predict_uses_the_model_asked_for(account):
    result = run("predict.sh", "--model", "nsl-kdd-binary-cnn", str(EXAMPLES / "nsl-kdd-dos.json"), **_env(account))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].split() == ["model:", "nsl-kdd-binary-cnn"]


def _batch_labels(output: str) -> list[str]:
    rows = output.splitlines()[2:-1]  # between the header lines and the total
    return [row.split()[1] for row in rows]


@pytest.mark.parametrize("dataset", ["nsl-kdd", "nf-bot-iot-v2"])
def test_predict_batch_from_json(account, dataset):
    example = EXAMPLES / f"{dataset}-batch.json"
    result = run("predict-batch.sh", str(example), **_env(account))
    assert result.returncode == 0, result.stderr
    expected = _api(account, "/predict/batch", json.loads(example.read_text()))
    assert _batch_labels(result.stdout) == [p["label"] for p in expected["predictions"]]


@pytest.mark.parametrize("dataset", ["nsl-kdd", "nf-bot-iot-v2"])
def test_predict_batch_from_dataset_csv_rows(account, dataset):
    example = EXAMPLES / f"{dataset}.csv"
    result = run("predict-batch.sh", "--dataset", dataset, str(example), **_env(account))
    assert result.returncode == 0, result.stderr
    with example.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    # The script sends numbers as numbers: the API's own answer to the typed rows is the same.
    typed = [{k: json.loads(v) if v.replace(".", "", 1).isdigit() else v for k, v in row.items()} for row in rows]
    expected = _api(account, "/predict/batch", {"dataset": dataset, "records": typed})
    assert _batch_labels(result.stdout) == [p["label"] for p in expected["predictions"]]
    assert result.stdout.splitlines()[0] == f"model: {expected['model']}, {len(rows)} records"


def test_wrong_password_fails_with_the_api_message(account):
    result = run("token.sh", account["username"], NIDS_URL=account["NIDS_URL"], NIDS_PASSWORD="not the password")
    assert result.returncode != 0
    assert result.stdout == ""
    assert "HTTP 401" in result.stderr and "incorrect username or password" in result.stderr


def test_taken_username_fails_with_the_api_message(account):
    result = run("register.sh", account["username"], NIDS_URL=account["NIDS_URL"], NIDS_PASSWORD=PASSWORD)
    assert result.returncode != 0
    assert "HTTP 409" in result.stderr and "username already taken" in result.stderr


def test_an_invalid_record_names_the_field_at_fault(account, tmp_path):
    body = json.loads((EXAMPLES / "nsl-kdd-normal.json").read_text())
    body["record"]["src_bytes"] = -1
    request = tmp_path / "bad.json"
    request.write_text(json.dumps(body))
    result = run("predict.sh", str(request), **_env(account))
    assert result.returncode != 0
    assert "HTTP 422" in result.stderr and "record.src_bytes" in result.stderr


def test_a_malformed_csv_is_refused_before_sending(account, tmp_path):
    request = tmp_path / "rows.csv"
    request.write_text("duration,protocol_type\n0,tcp,extra\n")
    result = run("predict-batch.sh", "--dataset", "nsl-kdd", str(request), **_env(account))
    assert result.returncode != 0
    assert "line 2" in result.stderr and "Traceback" not in result.stderr


def test_predict_without_a_token_says_how_to_get_one(service):
    result = run("predict.sh", str(SINGLE_EXAMPLES[0]), NIDS_URL=service.url)
    assert result.returncode != 0 and "NIDS_TOKEN" in result.stderr


def test_a_bad_token_is_an_http_error(service):
    result = run("predict.sh", str(SINGLE_EXAMPLES[0]), NIDS_URL=service.url, NIDS_TOKEN="not-a-token")
    assert result.returncode != 0 and "HTTP 401" in result.stderr


def test_no_service_is_a_clear_error(tmp_path):
    result = run("token.sh", "someone", NIDS_URL="http://127.0.0.1:9", NIDS_PASSWORD=PASSWORD)
    assert result.returncode != 0 and "no answer from http://127.0.0.1:9" in result.stderr


def test_shellcheck_passes():
    scripts = [str(p) for p in sorted(SCRIPTS.glob("*.sh"))] + [str(SCRIPTS / "lib" / "common.sh")]
    result = subprocess.run([str(TOOLS / "shellcheck"), "--external-sources", *scripts], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout


def test_examples_are_real_rows_as_make_examples_extracts_them(data_dir):
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "make_examples.py"), "--data-dir", str(data_dir), "--check"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr


def test_csv_cells_become_json_numbers_and_text_stays_text(tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_text("duration,protocol_type,same_srv_rate,src_bytes,note\n0,tcp,0.61,,nan\n")
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "lib" / "request.py"), "--dataset", "nsl-kdd", "--model", "m", str(rows)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "dataset": "nsl-kdd",
        "model": "m",
        "records": [{"duration": 0, "protocol_type": "tcp", "same_srv_rate": 0.61, "src_bytes": None, "note": "nan"}],
    }
    assert '"duration": 0,' in result.stdout  # an integer stays one
