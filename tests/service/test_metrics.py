"""GET /metrics: Prometheus text that sums every worker of `python -m service` and counts what was asked and answered."""

import time
import uuid
from collections import Counter

import httpx

from tests.service.conftest import PASSWORD, metric_samples, metric_value, oip_body


def _scrape(client: httpx.Client) -> Counter:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return metric_samples(response.text)


def test_counts_after_known_requests_across_two_workers(two_workers, examples, index):
    with httpx.Client(base_url=two_workers.url, timeout=60) as client:
        before = _scrape(client)
        username = f"metrics-{uuid.uuid4().hex[:8]}"
        assert client.post("/auth/register", json={"username": username, "password": PASSWORD}).status_code == 201
        failed = [client.post("/auth/token", data={"username": username, "password": "wrong password"}) for _ in range(3)]
        refused = Counter(r.status_code for r in failed)  # 401s, then 429 once the per-username limit is reached
        token = client.post("/auth/token", data={"username": username, "password": PASSWORD}).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        dataset, by_class = next(iter(examples.items()))
        labels, attacks = Counter(), 0
        for _ in range(4):  # several requests, so both workers answer some
            for record in by_class.values():
                answer = client.post("/predict", headers=auth, json={"dataset": dataset, "record": record})
                assert answer.status_code == 200
                labels[(answer.json()["model"], answer.json()["prediction"]["label"])] += 1
                attacks += answer.json()["prediction"]["is_attack"]
        batch = client.post("/predict/batch", headers=auth, json={"dataset": dataset, "records": list(by_class.values())})
        assert batch.status_code == 200
        for p in batch.json()["predictions"]:
            labels[(batch.json()["model"], p["label"])] += 1
            attacks += p["is_attack"]
        assert client.get("/no-such-page").status_code == 404
        singles = 4 * len(by_class)
        scrapes = 1  # `before`
        # The worker that answers a scrape counts its own requests at once, the other within bookkeeping.MAX_SECONDS.

        def settled(samples: Counter) -> bool:
            nonlocal scrapes
            scrapes += 1
            return (
                _delta(before, samples, "nids_predictions_total") == singles + len(by_class)
                and _delta(before, samples, "nids_http_requests_total", method="GET", route="/metrics") == scrapes - 1
            )

        after = _wait_for(client, settled)

    def delta(name: str, **labels_) -> float:
        return metric_value(after, name, **labels_) - metric_value(before, name, **labels_)

    assert delta("nids_http_requests_total", method="POST", route="/predict", status="200") == singles
    assert delta("nids_http_request_duration_seconds_count", method="POST", route="/predict", status="200") == singles
    assert delta("nids_http_requests_total", method="POST", route="/predict/batch", status="200") == 1
    assert delta("nids_http_requests_total", route="unmatched", status="404") == 1  # no raw path as a label value
    assert delta("nids_http_requests_total", method="GET", route="/metrics", status="200") == scrapes - 1  # all but the last
    assert delta("nids_failed_logins_total") == refused[401]
    assert delta("nids_rate_limited_total", route="/auth/token") == refused[429]
    for (model, label), count in labels.items():
        assert delta("nids_predictions_total", model=model, label=label) == count
    assert delta("nids_predictions_total") == singles + len(by_class)
    assert delta("nids_predictions_total", is_attack="true") == attacks
    model = batch.json()["model"]
    assert delta("nids_batch_records_count", model=model, format="json") == 1
    assert delta("nids_batch_records_sum", model=model, format="json") == len(by_class)
    assert delta("nids_preprocess_seconds_count", model=model) == singles + 1
    assert delta("nids_inference_seconds_count", model=model) == singles + 1
    # One truth across workers: each model counted once, however many workers serve it.
    for entry in index["models"]:
        assert metric_value(after, "nids_model_loaded", model=entry["id"]) == 1


def test_metrics_can_be_switched_off(make_settings):
    from fastapi.testclient import TestClient

    from service.main import create_app

    with TestClient(create_app(make_settings(metrics_enabled=False))) as client:
        assert client.get("/metrics").status_code == 404


def test_metrics_on_their_own_port(start_service):
    with httpx.Client() as probe, __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        with start_service(NIDS_METRICS_PORT=str(port)) as service:
            assert probe.get(f"{service.url}/metrics").status_code == 404  # not on the API's port
            assert probe.get(f"{service.url}/healthz").status_code == 200
            samples = metric_samples(probe.get(f"http://127.0.0.1:{port}/metrics").text)
            assert metric_value(samples, "nids_http_requests_total", route="/healthz", status="200") >= 1


def _delta(before: Counter, after: Counter, name: str, **labels) -> float:
    return metric_value(after, name, **labels) - metric_value(before, name, **labels)


def _wait_for(client: httpx.Client, done, seconds: float = 15.0) -> Counter:
    """The first scrape for which `done(samples)` holds."""
    deadline = time.monotonic() + seconds
    while not done(samples := _scrape(client)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return samples


def test_oip_inference_and_its_alerts_are_counted_across_two_workers(two_workers, metadata):
    model_id = "nf-bot-iot-v2-multiclass-cnn"
    records = list(metadata[model_id].examples.values())
    with httpx.Client(base_url=two_workers.url, timeout=60) as client:
        username = f"metrics-oip-{uuid.uuid4().hex[:8]}"
        assert client.post("/auth/register", json={"username": username, "password": PASSWORD}).status_code == 201
        token = client.post("/auth/token", data={"username": username, "password": PASSWORD}).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        described = client.get(f"/v2/models/{model_id}", headers=auth).json()
        before = _scrape(client)
        labels, attacks, requests = Counter(), 0, 6  # several requests, so both workers answer some
        for _ in range(requests):
            answer = client.post(f"/v2/models/{model_id}/infer", headers=auth, json=oip_body(described, records))
            assert answer.status_code == 200, answer.text
            outputs = {o["name"]: o["data"] for o in answer.json()["outputs"]}
            labels.update(outputs["label"])
            attacks += sum(outputs["is_attack"])

        def settled(samples: Counter) -> bool:  # alerts are delivered in the background, metrics within MAX_SECONDS
            return (
                _delta(before, samples, "nids_alerts_sent_total") >= attacks
                and _delta(before, samples, "nids_http_requests_total", route="/v2/models/{model_id}/infer") == requests
            )

        after = _wait_for(client, settled)

    def delta(name: str, **labels_) -> float:
        return _delta(before, after, name, **labels_)

    assert 0 < attacks < requests * len(records)
    for label, count in labels.items():
        assert delta("nids_predictions_total", model=model_id, label=label) == count
    assert delta("nids_predictions_total", model=model_id, is_attack="true") == attacks
    assert delta("nids_http_requests_total", method="POST", route="/v2/models/{model_id}/infer", status="200") == requests
    assert delta("nids_batch_records_count", model=model_id, format="oip") == requests
    assert delta("nids_batch_records_sum", model=model_id, format="oip") == requests * len(records)
    assert delta("nids_preprocess_seconds_count", model=model_id) == requests
    assert delta("nids_inference_seconds_count", model=model_id) == requests
    # One alert per attack verdict, counted by whichever worker raised it, and all delivered.
    assert delta("nids_alerts_emitted_total") == attacks
    assert delta("nids_alerts_sent_total") == attacks
    assert delta("nids_alerts_dropped_total") == 0 and delta("nids_alert_sink_failures_total") == 0
