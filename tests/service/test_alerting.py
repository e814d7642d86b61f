"""Alerts out of the service: each attack verdict becomes one ECS document in the configured sink, normal
verdicts none, and answers do not wait for the sink."""

import io
import json
import threading
import time
from collections import Counter

import pyarrow as pa
import pyarrow.csv as pa_csv
from fastapi.testclient import TestClient

from nids.alerts import AlertEmitter
from service import alert_metrics
from service.main import create_app
from tests.service.conftest import metric_samples, metric_value, oip_body

PASSWORD = "correct horse battery"
OIP_MODEL = "nf-bot-iot-v2-multiclass-cnn"


def _client_with_alerts(make_settings, path) -> TestClient:
    return TestClient(create_app(make_settings(alerts_jsonl=path, register_limit_per_client="1000/minute")))


def _token(client: TestClient, username: str) -> dict[str, str]:
    assert client.post("/auth/register", json={"username": username, "password": PASSWORD}).status_code == 201
    token = client.post("/auth/token", data={"username": username, "password": PASSWORD}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_attack_verdicts_become_ecs_alerts_with_the_flow_endpoints(make_settings, examples, index, tmp_path, new_username):
    path = tmp_path / "alerts.jsonl"
    records = examples["nf-bot-iot-v2"]
    flow = {"IPV4_SRC_ADDR": "192.0.2.7", "L4_SRC_PORT": 40000, "IPV4_DST_ADDR": "192.0.2.9", "L4_DST_PORT": 80}
    with _client_with_alerts(make_settings, path) as client:
        headers = _token(client, new_username())
        body = {"dataset": "nf-bot-iot-v2", "records": [records[c] | flow for c in records]}
        answer = client.post("/predict/batch", json=body, headers=headers)
        assert answer.status_code == 200, answer.text
        single = client.post("/predict", json={"dataset": "nf-bot-iot-v2", "record": records["DDoS"]}, headers=headers)
        assert single.status_code == 200
        table = pa.Table.from_pylist([records["DDoS"] | flow])
        csv = io.BytesIO()
        pa_csv.write_csv(table, csv)
        columnar = client.post(
            "/predict/batch?dataset=nf-bot-iot-v2", content=csv.getvalue(), headers=headers | {"Content-Type": "text/csv"}
        )
        assert columnar.status_code == 200, columnar.text
    # Leaving the client shuts the app down, which delivers what the emitter still holds.
    verdicts = [*answer.json()["predictions"], single.json()["prediction"], *columnar.json()["predictions"]]
    attacks = [p for p in verdicts if p["is_attack"]]
    alerts = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(attacks) >= 2 and len(alerts) == len(attacks)
    assert [a["nids"]["label"] for a in alerts] == [p["label"] for p in attacks]
    first = alerts[0]
    assert first["event"]["kind"] == "alert" and first["observer"]["name"] == index["dataset_defaults"]["nf-bot-iot-v2"]
    assert first["source"] == {"ip": "192.0.2.7", "port": 40000}
    assert first["destination"] == {"ip": "192.0.2.9", "port": 80}
    assert "source" not in alerts[-2]  # the single record carried no flow key
    assert (alerts[-1]["source"], alerts[-1]["destination"]) == (first["source"], first["destination"])  # CSV columns


def test_without_a_sink_no_emitter_runs(app):
    assert app.state.alerts is None


def _endpoints(row: int) -> dict:
    """A flow's endpoint columns, the source distinct per row."""
    return {"IPV4_SRC_ADDR": f"192.0.2.{row}", "L4_SRC_PORT": 40000 + row, "IPV4_DST_ADDR": "198.51.100.1", "L4_DST_PORT": 443}


def _scrape(client: TestClient) -> Counter:
    return metric_samples(client.get("/metrics").text)


def _delta(before: Counter, after: Counter, name: str, **labels) -> float:
    return metric_value(after, name, **labels) - metric_value(before, name, **labels)


def _infer(client: TestClient, headers: dict, records: list[dict]) -> dict[str, list]:
    """An OIP inference of these records (and the endpoint columns they have): output name -> its data."""
    described = client.get(f"/v2/models/{OIP_MODEL}", headers=headers).json()
    answer = client.post(f"/v2/models/{OIP_MODEL}/infer", json=oip_body(described, records), headers=headers)
    assert answer.status_code == 200, answer.text
    return {output["name"]: output["data"] for output in answer.json()["outputs"]}


def test_oip_attack_verdicts_become_alerts_with_the_endpoints_sent_along(make_settings, metadata, tmp_path, new_username):
    path = tmp_path / "alerts.jsonl"
    examples = list(metadata[OIP_MODEL].examples.values())
    records = [record | _endpoints(row) for row, record in enumerate(examples * 2)]
    with _client_with_alerts(make_settings, path) as client:
        headers = _token(client, new_username())
        before = _scrape(client)
        outputs = _infer(client, headers, records)
        attacks = [row for row, is_attack in enumerate(outputs["is_attack"]) if is_attack]
        deadline = time.monotonic() + 10
        while _delta(before, after := _scrape(client), "nids_alerts_sent_total") < len(attacks) and time.monotonic() < deadline:
            time.sleep(0.05)
    alerts = [json.loads(line) for line in path.read_text().splitlines()]
    assert 2 <= len(attacks) < len(records) and len(alerts) == len(attacks)
    for alert, row in zip(alerts, attacks, strict=True):
        assert alert["nids"]["label"] == outputs["label"][row] and alert["nids"]["is_attack"] is True
        assert alert["event"]["kind"] == "alert" and alert["event"]["dataset"] == "nids.nf-bot-iot-v2"
        assert alert["observer"]["name"] == OIP_MODEL
        assert alert["source"] == {"ip": f"192.0.2.{row}", "port": 40000 + row}
        assert alert["destination"] == {"ip": "198.51.100.1", "port": 443}
    assert _delta(before, after, "nids_alerts_emitted_total") == len(attacks)
    assert _delta(before, after, "nids_alerts_sent_total") == len(attacks)
    assert _delta(before, after, "nids_alerts_dropped_total") == 0


def test_oip_alerts_without_endpoint_inputs_have_no_source(make_settings, metadata, tmp_path, new_username):
    path = tmp_path / "alerts.jsonl"
    with _client_with_alerts(make_settings, path) as client:
        outputs = _infer(client, _token(client, new_username()), list(metadata[OIP_MODEL].examples.values()))
    alerts = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(alerts) == sum(outputs["is_attack"]) > 0
    assert all("source" not in a and "destination" not in a for a in alerts)


class _StuckSink:
    """A receiver that takes nothing until released, then fails every delivery."""

    def __init__(self) -> None:
        self.released = threading.Event()

    def send(self, alerts) -> None:
        self.released.wait(10)
        raise ConnectionError("receiver gone")

    def close(self) -> None:
        pass


def test_a_full_queue_and_a_failing_sink_are_counted_on_metrics(client, auth, replace_state, metadata):
    sink = _StuckSink()
    emitter = AlertEmitter([sink], queue_size=1, on_count=alert_metrics.count, log_interval=60)
    replace_state(alerts=emitter)
    before = _scrape(client)
    try:
        attacks = sum(_infer(client, auth, list(metadata[OIP_MODEL].examples.values()) * 4)["is_attack"])
        stuck = _scrape(client)  # the sink holds one batch; the queue holds one alert; the rest are dropped
    finally:
        sink.released.set()
        emitter.close(timeout=5)
    after = _scrape(client)
    stats = emitter.stats()
    assert attacks >= 4 and stats["emitted"] == attacks
    assert _delta(before, stuck, "nids_alerts_dropped_total", reason="queue_full") == stats["dropped_queue_full"] >= attacks - 2
    delivered = attacks - stats["dropped_queue_full"]  # then failed by the sink
    assert _delta(before, after, "nids_alerts_emitted_total") == attacks
    assert _delta(before, after, "nids_alerts_dropped_total", reason="queue_full") == stats["dropped_queue_full"]
    assert _delta(before, after, "nids_alerts_dropped_total", reason="sink_failed") == stats["dropped_sink_failed"] == delivered
    assert _delta(before, after, "nids_alert_sink_failures_total", sink="_StuckSink") == delivered
    assert _delta(before, after, "nids_alerts_sent_total") == 0
