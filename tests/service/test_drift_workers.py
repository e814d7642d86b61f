"""Drift is one summary across the worker processes of the real server (`python -m service` with 2 uvicorn
workers): after N records, GET /models/{id}/drift and /metrics report N whichever worker answers.

Every request goes out on a connection of its own, so the workers share them out between themselves."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from service.drift import WINDOW
from service.drift_workers import SUFFIX

DATASET, MODEL = "nsl-kdd", "nsl-kdd-multiclass-cnn"  # the dataset's default model
# drift.PUBLISH_SECONDS, with room for a loaded machine.
PUBLISHED_WITHIN_SECONDS = 15
ROUND = 40  # single records per round, fewer than two blocks: some still wait to be binned when read


def _published_seen(directory) -> list[int]:
    """Records each process has published for the model (the supervisor publishes none)."""
    seen = []
    for path in directory.glob(f"*{SUFFIX}"):
        with np.load(path) as data:
            seen.append(int(data[f"{MODEL}.seen"]))
    return seen


def _window_records(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "nids_drift_window_records" and sample.labels["model"] == MODEL:
                return sample.value
    raise AssertionError("no nids_drift_window_records sample for the model")


def test_drift_is_one_summary_whichever_worker_answers(start_service, examples, password, tmp_path):
    with start_service(workers=2, PROMETHEUS_MULTIPROC_DIR=str(tmp_path)) as service:
        username = f"drift-{uuid.uuid4().hex[:8]}"
        credentials = {"username": username, "password": password}
        assert httpx.post(f"{service.url}/auth/register", json=credentials, timeout=60).status_code == 201
        token = httpx.post(f"{service.url}/auth/token", data=credentials, timeout=60).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        records = list(examples[DATASET].values())

        def predict(record: dict) -> int:
            body = {"dataset": DATASET, "record": record}
            return httpx.post(f"{service.url}/predict", json=body, headers=auth, timeout=60).status_code

        batch = httpx.post(
            f"{service.url}/predict/batch", json={"dataset": DATASET, "records": records}, headers=auth, timeout=60
        )
        assert batch.status_code == 200 and batch.json()["model"] == MODEL
        sent = len(records)
        # Rounds of concurrent requests until both workers have served some, as their published windows show.
        for _ in range(5):
            with ThreadPoolExecutor(4) as pool:
                assert set(pool.map(predict, [records[i % len(records)] for i in range(ROUND)])) == {200}
            sent += ROUND
            deadline = time.monotonic() + PUBLISHED_WITHIN_SECONDS
            while sum(seen := _published_seen(tmp_path / "drift")) < sent:
                assert time.monotonic() < deadline, f"published {seen}, sent {sent}"
                time.sleep(0.1)
            if len(busy := [n for n in seen if n]) == 2:
                break
        assert len(busy) == 2, f"one worker served every request: {seen}"

        for _ in range(10):
            report = httpx.get(f"{service.url}/models/{MODEL}/drift", headers=auth, timeout=60).json()
            assert (report["records"], report["seen"], report["window"]) == (sent, sent, 2 * WINDOW)
            assert _window_records(httpx.get(f"{service.url}/metrics", timeout=60).text) == sent
    log = service.log.read_text(errors="replace")
    assert "Traceback" not in log and " 500 " not in log, log[-3000:]
