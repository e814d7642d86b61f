"""The /predict and /predict/batch fast path: it answers exactly what the routes answer, and hands every other
request (errors included) to the app with its body intact."""

import asyncio
import json

import pyarrow as pa
import pytest

from service.accounts import AccountCache
from service.codecs import ARROW_MEDIA_TYPE, CSV_MEDIA_TYPE
from service.fastpath import PredictFastPath
from tests.service.conftest import COLUMNAR_ENCODERS


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
    """(call, downstream): `call(body, headers, path, query)` sends one POST through a fast path built as the app
    builds it."""
    layer = app.middleware_stack
    while not isinstance(layer, PredictFastPath):
        layer = layer.app
    downstream = Downstream()
    fast = PredictFastPath(downstream, layer.single, layer.batch, layer.routes, layer.max_json_members)

    def call(body: bytes, headers: dict[str, str], path: str = "/predict", query: str = "") -> tuple[int, bytes]:
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        scope = {"type": "http", "method": "POST", "path": path, "root_path": "", "headers": raw, "app": app, "state": {}}
        scope["query_string"] = query.encode()
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


# A repeated header: the fast path leaves the request to the app, whose answer it must match.
VIA_THE_APP = {"X-Via": "a", "x-via": "b"}


def test_answers_as_the_route_does(fast_path, client, auth, examples):
    call, downstream = fast_path
    for dataset, records in examples.items():
        for record in records.values():
            body = json.dumps({"dataset": dataset, "record": record}).encode()
            client.post("/predict", content=body, headers=_headers(auth, body))  # the first request caches the account
            status, answer = call(body, _headers(auth, body))
            routed = client.post("/predict", content=body, headers=_headers(auth, body) | VIA_THE_APP)
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
    assert call(good, _headers(auth, good), path="/predict/batch")[0] == 599  # a single record is not a batch
    assert call(good, _headers(auth, good), path="/predict/other")[0] == 599


def _batch_bodies(dataset: str, records: list[dict]) -> dict[str, tuple[bytes, str]]:
    """body format -> (body, query string) of the same records."""
    table = pa.Table.from_pylist(records)
    query = f"dataset={dataset}"
    return {
        "application/json": (json.dumps({"dataset": dataset, "records": records}).encode(), ""),
        CSV_MEDIA_TYPE: (COLUMNAR_ENCODERS[CSV_MEDIA_TYPE](table), query),
        ARROW_MEDIA_TYPE: (COLUMNAR_ENCODERS[ARROW_MEDIA_TYPE](table), query),
    }


def test_batches_are_answered_as_the_route_does(fast_path, client, auth, examples):
    call, downstream = fast_path
    for dataset, by_class in examples.items():
        records = list(by_class.values()) * 2
        for media_type, (body, query) in _batch_bodies(dataset, records).items():
            for accept in ("application/json", ARROW_MEDIA_TYPE):
                headers = _headers(auth, body, **{"Content-Type": media_type, "Accept": accept})
                routed = client.post(f"/predict/batch?{query}", content=body, headers=headers | VIA_THE_APP)
                status, answer = call(body, headers, path="/predict/batch", query=query)
                assert (status, answer) == (200, routed.content), (dataset, media_type, accept)
                assert routed.status_code == 200
    assert downstream.bodies == []


def test_batches_the_route_would_refuse_go_on_to_the_app(fast_path, client, auth, examples):
    call, downstream = fast_path
    dataset, by_class = next(iter(examples.items()))
    records = list(by_class.values())
    bodies = _batch_bodies(dataset, records)
    csv, query = bodies[CSV_MEDIA_TYPE]
    client.post(f"/predict/batch?{query}", content=csv, headers=_headers(auth, csv, **{"Content-Type": CSV_MEDIA_TYPE}))
    refused = {
        "no dataset": (CSV_MEDIA_TYPE, csv, ""),
        "unknown dataset": (CSV_MEDIA_TYPE, csv, "dataset=nope"),
        "unknown model": (CSV_MEDIA_TYPE, csv, f"{query}&model=nope"),
        "model id too long": (CSV_MEDIA_TYPE, csv, f"{query}&model={'m' * 500}"),
        "ragged csv": (CSV_MEDIA_TYPE, csv + b"1,2,3\n", query),
        "arrow cut short": (ARROW_MEDIA_TYPE, bodies[ARROW_MEDIA_TYPE][0][:-40], query),
        "no records": ("application/json", json.dumps({"dataset": dataset, "records": []}).encode(), ""),
        "plain text": ("text/plain", csv, query),
    }
    for name, (media_type, body, query_string) in refused.items():
        headers = _headers(auth, body, **{"Content-Type": media_type})
        status, _ = call(body, headers, path="/predict/batch", query=query_string)
        assert (status, downstream.bodies[-1]) == (599, body), name
        assert client.post(f"/predict/batch?{query_string}", content=body, headers=headers).status_code in (404, 415, 422), name
    assert len(downstream.bodies) == len(refused)


def test_a_token_the_worker_cannot_judge_from_its_cache_goes_to_the_app(fast_path, client, auth, examples, replace_state, app):
    call, _ = fast_path
    dataset, records = next(iter(examples.items()))
    body = json.dumps({"dataset": dataset, "record": next(iter(records.values()))}).encode()
    replace_state(accounts=AccountCache(app.state.engine, ttl=0))  # no cache: every request needs a database read
    assert call(body, _headers(auth, body))[0] == 599
    assert client.post("/predict", content=body, headers=_headers(auth, body)).status_code == 200


@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
def test_rate_limited_requests_are_refused_by_the_app(fast_path, client, auth, examples, set_rate_limits, path):
    call, _ = fast_path
    dataset, records = next(iter(examples.items()))
    record = next(iter(records.values()))
    body = json.dumps({"dataset": dataset} | ({"record": record} if path == "/predict" else {"records": [record]})).encode()
    client.post(path, content=body, headers=_headers(auth, body))
    set_rate_limits(token_rate_limit="2/minute")
    assert [call(body, _headers(auth, body), path=path)[0] for _ in range(3)] == [200, 200, 599]
    response = client.post(path, content=body, headers=_headers(auth, body))
    assert response.status_code == 429 and "Retry-After" in response.headers


@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
def test_answers_are_logged_and_counted_under_the_route(client, auth, examples, app, path):
    dataset, records = next(iter(examples.items()))
    record = next(iter(records.values()))
    body = json.dumps({"dataset": dataset} | ({"record": record} if path == "/predict" else {"records": [record]})).encode()
    client.post(path, content=body, headers=_headers(auth, body))
    metrics = app.state.metrics.exposition_registry()
    labels = {"method": "POST", "route": path, "status": "200"}
    before = metrics.get_sample_value("nids_http_requests_total", labels) or 0
    response = client.post(path, content=body, headers=_headers(auth, body))
    assert response.status_code == 200 and response.headers["x-request-id"] and response.headers["cache-control"] == "no-store"
    assert metrics.get_sample_value("nids_http_requests_total", labels) == before + 1
