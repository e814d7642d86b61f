"""Alerts out of the service: each attack verdict becomes one ECS document in the configured sink, normal
verdicts none, and answers do not wait for the sink."""

import json

from fastapi.testclient import TestClient

from service.main import create_app

PASSWORD = "correct horse battery"


def _client_with_alerts(make_settings, path) -> TestClient:
    return TestClient(create_app(make_settings(alerts_jsonl=path, register_limit_per_client="1000/minute")))


def _token(client: TestClient, username: str) -> dict[str, str]:
    assert client.post("/auth/register", json={"username": username, "password": PASSWORD}).status_code == 201
    token = client.post("/auth/token", data={"username": username, "password": PASSWORD}).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_attack_verdicts_become_ecs_alerts_with_the_flow_endpoints(make_settings, examples, tmp_path, new_username):
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
    # Leaving the client shuts the app down, which delivers what the emitter still holds.
    verdicts = [p for p in answer.json()["predictions"]] + [single.json()["prediction"]]
    attacks = [p for p in verdicts if p["is_attack"]]
    alerts = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(attacks) >= 2 and len(alerts) == len(attacks)
    assert [a["nids"]["label"] for a in alerts] == [p["label"] for p in attacks]
    first = alerts[0]
    assert first["event"]["kind"] == "alert" and first["observer"]["name"] == "nf-bot-iot-v2-multiclass-cnn"
    assert first["source"] == {"ip": "192.0.2.7", "port": 40000}
    assert first["destination"] == {"ip": "192.0.2.9", "port": 80}
    assert "source" not in alerts[-1]  # the single record carried no flow key


def test_without_a_sink_no_emitter_runs(app):
    assert app.state.alerts is None
