"""Logs of `python -m service`: JSON lines, one per request with its id, user, model, status and latency,
and never a record's content, a token or a password."""

import io
import json
import time
import uuid

import httpx

from service.core.logging import AccessLog
from tests.service.conftest import PASSWORD, oip_body


def _lines(log_text: str) -> list[dict]:
    lines = [line for line in log_text.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        parsed.append(json.loads(line))  # every line is JSON: a plain-text line fails here
    return parsed


def _wait_for(log, request_id: str) -> dict:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [line for line in _lines(log.read_text()) if line.get("request_id") == request_id and line["event"] == "request"]
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no access-log line for {request_id}")


def test_a_request_line_has_its_fields_and_no_secret(two_workers, examples):
    username = f"log-{uuid.uuid4().hex[:8]}"
    password = f"{PASSWORD} {uuid.uuid4().hex}"
    dataset, by_class = next(iter(examples.items()))
    record = next(iter(by_class.values()))
    with httpx.Client(base_url=two_workers.url, timeout=60) as client:
        assert client.post("/auth/register", json={"username": username, "password": password}).status_code == 201
        assert client.post("/auth/token", data={"username": username, "password": password + "x"}).status_code == 401
        token = client.post("/auth/token", data={"username": username, "password": password}).json()["access_token"]
        me = client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
        response = client.post(
            "/predict",
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": f"log-test-{username}"},
            json={"dataset": dataset, "record": record},
        )
        assert response.status_code == 200
        csv_id = f"log-csv-{username}"
        header = ",".join(record)
        values = ",".join(str(v) for v in record.values())
        csv = client.post(
            "/predict/batch",
            params={"dataset": dataset},
            content=f"{header}\n{values}\n".encode(),
            headers={"Authorization": f"Bearer {token}", "content-type": "text/csv", "X-Request-ID": csv_id},
        )
        assert csv.status_code == 200, csv.text
    line = _wait_for(two_workers.log, f"log-test-{username}")
    assert line["level"] == "info" and line["logger"] == "service.access" and line["timestamp"].endswith("Z")
    assert (line["method"], line["path"], line["route"], line["status"]) == ("POST", "/predict", "/predict", 200)
    assert line["user_id"] == me["id"] and line["model"] == response.json()["model"] and line["records"] == 1
    assert 0 < line["latency_ms"] < 60_000
    assert _wait_for(two_workers.log, csv_id)["records"] == 1
    text = two_workers.log.read_text()
    assert token not in text and token.split(".")[2] not in text  # not even the signature
    assert password not in text
    # No record content: a value only a record carries (a long float, a rare category) is not in the log.
    distinctive = [v for v in record.values() if isinstance(v, float) and len(repr(v)) > 6]
    assert all(f"{v!r}" not in text for v in distinctive)
    assert values not in text and header not in text


def test_uvicorn_lines_are_json_too(two_workers):
    lines = _lines(two_workers.log.read_text())
    assert any(line["logger"].startswith("uvicorn") for line in lines)  # its start-up lines, rendered by ours
    assert not any(line["logger"] == "uvicorn.access" for line in lines)  # replaced by service.access


def test_an_oip_inference_line_names_its_user_model_and_records(two_workers, metadata):
    model_id = "nsl-kdd-multiclass-cnn"
    records = list(metadata[model_id].examples.values())
    username = f"log-oip-{uuid.uuid4().hex[:8]}"
    request_id = f"log-oip-{username}"
    with httpx.Client(base_url=two_workers.url, timeout=60) as client:
        assert client.post("/auth/register", json={"username": username, "password": PASSWORD}).status_code == 201
        token = client.post("/auth/token", data={"username": username, "password": PASSWORD}).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        me = client.get("/auth/me", headers=auth).json()
        described = client.get(f"/v2/models/{model_id}", headers=auth).json()
        response = client.post(
            f"/v2/models/{model_id}/infer", headers=auth | {"X-Request-ID": request_id}, json=oip_body(described, records)
        )
        assert response.status_code == 200, response.text
    line = _wait_for(two_workers.log, request_id)
    assert (line["route"], line["status"]) == ("/v2/models/{model_id}/infer", 200)
    assert line["user_id"] == me["id"] and line["model"] == model_id and line["records"] == len(records)


def test_access_lines_carry_their_answer_time_and_leave_in_order_when_full_after_a_delay_and_when_flushed():
    stream = io.StringIO()
    log = AccessLog(stream, max_lines=3, max_seconds=0.2)
    log.write(1764405649.318103, {"request_id": "first", "status": 200, "latency_ms": 0.25})
    log.write(1764405650.0, {"request_id": "second"})
    assert stream.getvalue() == ""  # held back
    deadline = time.monotonic() + 5
    while not stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    first, second = _lines(stream.getvalue())  # within max_seconds of the first
    assert first == {
        "logger": "service.access",
        "request_id": "first",
        "status": 200,
        "latency_ms": 0.25,
        "event": "request",
        "level": "info",
        "timestamp": "2025-11-29T08:40:49.318103Z",  # when it was answered, not when written
    }
    assert second["request_id"] == "second" and second["timestamp"] == "2025-11-29T08:40:50Z"
    for name in "abc":
        log.write(time.time(), {"request_id": name})
    assert [line["request_id"] for line in _lines(stream.getvalue())][-3:] == ["a", "b", "c"]  # 3 lines: at once
    log.write(time.time(), {"request_id": "last"})
    log.flush()
    assert _lines(stream.getvalue())[-1]["request_id"] == "last"
    quiet = io.StringIO()
    AccessLog(quiet, enabled=False).write(time.time(), {"request_id": "x"})  # NIDS_LOG_LEVEL above info
    assert quiet.getvalue() == ""
