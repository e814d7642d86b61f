"""The /predict fast path: it answers exactly what the route answers, and hands every other request (errors
included) to the app with its body intact."""

import asyncio
import json

import pytest

from service.accounts import AccountCache
from service.fastpath import SinglePredictFastPath


class Downstream:
    """Stands for the app behind the fast path: records what reaches it, answers 599."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope, receive, send) -> None:
        chunks, message = [], {"more_body": True}
        while message.get("more_body"):
            message = await receive()
            chunks.append(message.get("body", b""))
        self.bodies.append(b"".join(chunks))
        await send({"type": "http.response.start", "status": 599, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def fast_path(app, client):
    """(call, downstream): `call(body, headers)` sends one POST /predict through a fast path built as the app builds it."""
    layer = app.middleware_stack
    while not isinstance(layer, SinglePredictFastPath):
        layer = layer.app
    downstream = Downstream()
    fast = SinglePredictFastPath(downstream, layer.single, layer.route, layer.max_json_members)

    def call(body: bytes, headers: dict[str, str], path: str = "/predict") -> tuple[int, bytes]:
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        scope = {"type": "http", "method": "POST", "path": path, "root_path": "", "headers": raw, "app": app, "state": {}}
        scope["query_string"] = b""
        chunks = [body[: len(body) // 2], body[len(body) // 2 :]]  # as a server may deliver it: in pieces
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": chunks.pop(0), "more_body": bool(chunks)}

        async def send(message: dict) -> None:
            sent.append(message)

        asyncio.run(fast(scope, receive, send))
        return sent[0]["status"], sent[1]["body"]

    return call, downstream


def _headers(auth: dict[str, str], body: bytes, **extra: str) -> dict[str, str]:
    return auth | {"Content-Type": "application/json", "Content-Length": str(len(body))} | extra


def test_answers_as_the_route_does(fast_path, client, auth, examples):
    call, downstream = fast_path
    for dataset, records in examples.items():
        for record in records.values():
            body = json.dumps({"dataset": dataset, "record": record}).encode()
            client.post("/predict", content=body, headers=_headers(auth, body))  # the first request caches the account
            status, answer = call(body, _headers(auth, body))
            routed = client.post("/predict", content=body, headers=_headers(auth, body) | {"X-Via": "a", "x-via": "b"})
            assert status == 200 and json.loads(answer) == routed.json()
    assert downstream.bodies == []


def test_everything_else_goes_on_to_the_app_with_its_body(fast_path, client, auth, examples):
    call, downstream = fast_path
    dataset, records = next(iter(examples.items()))
    record = next(iter(records.values()))
    good = json.dumps({"dataset": dataset, "record": record}).encode()
    client.post("/predict", content=good, headers=_headers(auth, good))
    refused = {
        "no token": (good, _headers({}, good)),
        "bad token": (good, _headers({"Authorization": "Bearer not-a-token"}, good)),
        "basic scheme": (good, _headers({"Authorization": auth["Authorization"].replace("Bearer", "Basic")}, good)),
        "csv": (good, _headers(auth, good, **{"Content-Type": "text/csv"})),
        "no length": (good, {k: v for k, v in _headers(auth, good).items() if k != "Content-Length"}),
        "bad record": (b'{"dataset": "%s", "record": {}}' % dataset.encode(), None),
        "unknown model": (json.dumps({"dataset": dataset, "model": "nope", "record": record}).encode(), None),
        "not json": (b"{not json", None),
        "too many members": (json.dumps({"dataset": dataset, "record": record} | dict.fromkeys(range(200), 1)).encode(), None),
    }
    for name, (body, headers) in refused.items():
        status, _ = call(body, headers or _headers(auth, body))
        assert (status, downstream.bodies[-1]) == (599, body), name
    assert len(downstream.bodies) == len(refused)
    assert call(good, _headers(auth, good), path="/predict/batch")[0] == 599


def test_a_token_the_worker_cannot_judge_from_its_cache_goes_to_the_app(fast_path, client, auth, examples, replace_state, app):
    call, _ = fast_path
    dataset, records = next(iter(examples.items()))
    body = json.dumps({"dataset": dataset, "record": next(iter(records.values()))}).encode()
    replace_state(accounts=AccountCache(app.state.engine, ttl=0))  # no cache: every request needs a database read
    assert call(body, _headers(auth, body))[0] == 599
    assert client.post("/predict", content=body, headers=_headers(auth, body)).status_code == 200


def test_rate_limited_requests_are_refused_by_the_app(fast_path, client, auth, examples, set_rate_limits):
    call, _ = fast_path
    dataset, records = next(iter(examples.items()))
    body = json.dumps({"dataset": dataset, "record": next(iter(records.values()))}).encode()
    client.post("/predict", content=body, headers=_headers(auth, body))
    set_rate_limits(token_rate_limit="2/minute")
    assert [call(body, _headers(auth, body))[0] for _ in range(3)] == [200, 200, 599]
    response = client.post("/predict", content=body, headers=_headers(auth, body))
    assert response.status_code == 429 and "Retry-After" in response.headers


def test_answers_are_logged_and_counted_under_the_route(client, auth, examples, app):
    dataset, records = next(iter(examples.items()))
    body = json.dumps({"dataset": dataset, "record": next(iter(records.values()))}).encode()
    client.post("/predict", content=body, headers=_headers(auth, body))
    metrics = app.state.metrics.exposition_registry()
    labels = {"method": "POST", "route": "/predict", "status": "200"}
    before = metrics.get_sample_value("nids_http_requests_total", labels) or 0
    response = client.post("/predict", content=body, headers=_headers(auth, body))
    assert response.status_code == 200 and response.headers["x-request-id"] and response.headers["cache-control"] == "no-store"
    assert metrics.get_sample_value("nids_http_requests_total", labels) == before + 1
