"""Every answer carries X-Request-ID: the caller's when it is sane, else a new one."""

import re

import pytest

NEW_ID = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize("sane", ["abc", "req-2026.11_28", "A" * 128, "0"])
def test_a_sane_caller_id_comes_back(client, sane):
    response = client.get("/healthz", headers={"X-Request-ID": sane})
    assert response.headers["x-request-id"] == sane


@pytest.mark.parametrize("insane", ["A" * 129, "has space", "semi;colon", "new\\nline", "ünïcode", "<script>", ""])
def test_an_insane_caller_id_is_replaced(client, insane):
    response = client.get("/healthz", headers={"X-Request-ID": insane.encode()})
    assert NEW_ID.fullmatch(response.headers["x-request-id"])


def test_every_answer_has_one_even_refusals(client, auth):
    answers = [
        client.get("/healthz"),
        client.get("/no-such-route"),
        client.post("/predict", json={}),  # 401: no token
        client.post("/predict", headers=auth, content=b"{"),  # 422: malformed JSON
    ]
    assert [r.status_code for r in answers] == [200, 404, 401, 422]
    ids = [r.headers["x-request-id"] for r in answers]
    assert all(NEW_ID.fullmatch(i) for i in ids) and len(set(ids)) == len(ids)
    assert client.post("/predict", headers=auth | {"X-Request-ID": "mine-1"}, content=b"{").headers["x-request-id"] == "mine-1"
