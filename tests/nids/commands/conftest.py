"""Fixtures for the command-line tests: real data files, the `nids` command run in-process, and the service."""

import gzip
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow.csv as pa_csv
import pytest
from fastapi.testclient import TestClient

from nids.cli import main
from service.core.config import Settings
from service.main import create_app
from trainer.datasets import NSL_KDD

NF_SAMPLE_ROWS = 20_000


@pytest.fixture(scope="session")
def kdd_test(data_dir) -> Path:
    return data_dir / "nsl-kdd" / "KDDTest+.txt.gz"


@pytest.fixture(scope="session")
def nf_file(data_dir) -> Path:
    return data_dir / "bot-iot" / "nf_bot_iot_v2_train.csv.gz"


@pytest.fixture(scope="session")
def nf_sample(nf_file, tmp_path_factory) -> Path:
    """About 20,000 rows spread evenly over the NF-BoT-IoT-v2 file (every class is in it), header kept."""
    with gzip.open(nf_file, "rt", newline="") as source:
        header, *lines = source.read().splitlines(keepends=True)
    step = max(len(lines) // NF_SAMPLE_ROWS, 1)
    path = tmp_path_factory.mktemp("nf") / "nf_sample.csv"
    path.write_text(header + "".join(lines[::step][:NF_SAMPLE_ROWS]))
    return path


@pytest.fixture(scope="session")
def kdd_lines(kdd_test) -> list[str]:
    with gzip.open(kdd_test, "rt", newline="") as source:
        return source.read().splitlines()


def _read_records(path: Path, columns: list[str], headerless_names: tuple[str, ...] | None = None) -> list[dict]:
    """The records of a CSV file as typed JSON values (numbers as numbers), as a client would post them."""
    options = pa_csv.ReadOptions(column_names=list(headerless_names) if headerless_names else None)
    table = pa_csv.read_csv(path, read_options=options, convert_options=pa_csv.ConvertOptions(include_columns=columns))
    return table.to_pylist()


@pytest.fixture(scope="session")
def kdd_records(kdd_test) -> list[dict]:
    return _read_records(kdd_test, list(NSL_KDD.features), NSL_KDD.columns)


@pytest.fixture(scope="session")
def read_records() -> Callable[..., list[dict]]:
    return _read_records


@pytest.fixture
def score(capsys) -> Callable[..., tuple[int, str]]:
    """Run `nids score ARGS...` in-process: (exit code, stderr)."""

    def run(*args: object) -> tuple[int, str]:
        code = main(["score", *map(str, args)])
        return code, capsys.readouterr().err

    return run


@pytest.fixture(scope="session")
def service(artifacts_dir, new_database_url) -> Iterator[Callable[[str, list[dict]], list[dict]]]:
    """predict(dataset, records) -> the service's /predict/batch predictions, posted 1,000 records at a time."""
    settings = Settings(
        artifacts_dir=artifacts_dir,
        database_url=new_database_url("score"),
        jwt_secret="score-tests-signing-key-" + "x" * 32,
    )
    with TestClient(create_app(settings)) as client:
        credentials = {"username": "scorer", "password": "correct horse battery"}
        assert client.post("/auth/register", json=credentials).status_code == 201
        token = client.post("/auth/token", data=credentials).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}

        def predict(dataset: str, records: list[dict]) -> list[dict]:
            answers = []
            for start in range(0, len(records), 1000):
                body = {"dataset": dataset, "records": records[start : start + 1000]}
                response = client.post("/predict/batch", json=body, headers=headers)
                assert response.status_code == 200, response.text[:500]
                answers += response.json()["predictions"]
            return answers

        yield predict
