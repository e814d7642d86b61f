"""Abuse limits: bodies refused by size before parsing, JSON shapes that would be costly to validate
refused cheaply, long strings bounded field by field, registrations per client address, where the
counts are kept, and the optional per-user request rate."""

import json

import pytest
from fastapi.testclient import TestClient
from limits.storage import MemoryStorage

from preprocess.metadata import CategoricalFeature
from service.core.config import Settings
from service.ratelimit import RateLimits
from service.ratelimit_storage import DatabaseStorage

MB = 1024 * 1024


@pytest.fixture
def open_record(index, metadata, examples) -> tuple[str, dict, str, str]:
    """(dataset, a real record, an open categorical column, an ignored column) of a dataset that has both."""
    for dataset, model_id in index["dataset_defaults"].items():
        meta = metadata[model_id]
        open_columns = [f.name for f in meta.features if isinstance(f, CategoricalFeature) and not f.closed]
        if open_columns and meta.ignored_columns:
            return dataset, next(iter(examples[dataset].values())), open_columns[0], meta.ignored_columns[0]
    pytest.skip("no served dataset has an open categorical and an ignored column")


def _post_raw(client, path: str, content, headers=None, content_type="application/json"):
    return client.post(path, headers={"content-type": content_type} | (headers or {}), content=content)


def test_a_multi_megabyte_body_is_413_before_any_parsing(client, auth):
    not_even_json = b"{" * (5 * MB)  # parsed, it would be a 422; it is never parsed
    for path, headers in (("/predict/batch", auth), ("/auth/register", {})):
        declared = _post_raw(client, path, not_even_json, headers)
        streamed = _post_raw(client, path, iter([not_even_json[:MB], not_even_json[MB:]]), headers)
        assert "content-length" not in streamed.request.headers
        for response in (declared, streamed):
            assert response.status_code == 413 and "4194304 bytes" in response.json()["detail"]


def test_a_multi_megabyte_login_form_is_413(client):
    form = b"username=someone&password=" + b"x" * (5 * MB)
    for content in (form, iter([form[:MB], form[MB:]])):
        response = _post_raw(client, "/auth/token", content, content_type="application/x-www-form-urlencoded")
        assert response.status_code == 413


@pytest.mark.parametrize("path", ["/predict", "/predict/batch", "/auth/register"])
def test_json_nested_deeper_than_the_parser_allows_is_422(client, auth, path):
    deep = b"[" * 1_000_000 + b"]" * 1_000_000
    response = _post_raw(client, path, b'{"dataset": "nsl-kdd", "records": ' + deep + b"}", auth)
    assert response.status_code == 422
    assert response.json()["detail"] == [{"loc": ["body"], "msg": "JSON nested too deeply", "type": "json_too_deep"}]


def test_nesting_the_parser_accepts_stops_at_the_first_field_it_does_not_fit(client, auth, open_record):
    dataset, record, column, _ = open_record
    body = json.dumps({"dataset": dataset, "record": record | {column: 0}})
    nested = body.replace(f'"{column}": 0', f'"{column}": ' + "[" * 500 + "]" * 500)
    response = _post_raw(client, "/predict", nested.encode(), auth)
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["body", dataset, "record", column]]


@pytest.mark.parametrize("path", ["/auth/register", "/predict", "/predict/batch"])
def test_an_object_with_very_many_members_is_422_without_a_report_per_member(client, auth, path):
    flood = json.dumps({f"member-{i}": 1 for i in range(200_000)}).encode()
    response = _post_raw(client, path, flood, auth)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["type"] == "json_too_many_members" and "200000 members" in error["msg"]


def test_a_batch_record_with_very_many_members_is_422_without_a_report_per_member(client, auth):
    flood = json.dumps({"dataset": "nsl-kdd", "records": [{f"member-{i}": 1 for i in range(200_000)}]}).encode()
    response = _post_raw(client, "/predict/batch", flood, auth)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["type"] == "json_too_many_members" and "200000 members" in error["msg"]


def test_a_record_with_a_few_unknown_columns_still_gets_each_one_named(client, auth, open_record):
    dataset, record, _, _ = open_record
    extra = {f"unknown-{i}": 1 for i in range(10)}
    response = client.post("/predict", headers=auth, json={"dataset": dataset, "record": record | extra})
    assert response.status_code == 422
    assert sorted(e["loc"][-1] for e in response.json()["detail"]) == sorted(extra)


def test_a_body_that_is_not_utf8_is_422(client):
    response = _post_raw(client, "/auth/register", b'{"username": "\xff\xfe"}')
    assert response.status_code == 422 and response.json()["detail"][0]["type"] == "json_invalid"


LONG = "x" * (3 * MB)


def test_very_long_strings_are_422_naming_the_field_and_not_echoed(client, auth, open_record):
    dataset, record, column, ignored = open_record
    cases = [
        ("/predict", {"dataset": dataset, "record": record | {column: LONG}}, ["body", dataset, "record", column]),
        ("/predict", {"dataset": dataset, "record": record | {ignored: LONG}}, ["body", dataset, "record", ignored]),
        ("/predict", {"dataset": dataset, "model": LONG, "record": record}, ["body", dataset, "model"]),
        ("/auth/register", {"username": LONG, "password": "a fine password"}, ["body", "username"]),
        ("/auth/register", {"username": "long-password", "password": LONG}, ["body", "password"]),
    ]
    for path, body, location in cases:
        response = client.post(path, headers=auth, json=body)
        assert response.status_code == 422, location
        assert location in [e["loc"][: len(location)] for e in response.json()["detail"]]
        assert len(response.content) < 10_000  # the value is not echoed back


def test_a_long_username_or_password_at_login_is_a_plain_401(client):
    assert client.post("/auth/token", data={"username": LONG[:100_000], "password": LONG[:100_000]}).status_code == 401


def test_the_per_user_request_rate_is_off_by_default(app, client, auth):
    assert Settings.model_fields["token_rate_limit"].default is None and app.state.rate_limits.per_user is None
    assert all(client.get("/auth/me", headers=auth).status_code == 200 for _ in range(50))


def test_the_per_user_request_rate_limits_every_token_of_that_user(
    client, user, auth, new_username, password, set_rate_limits, clock
):
    set_rate_limits(token_rate_limit="3/minute")
    assert [client.get("/models", headers=auth).status_code for _ in range(3)] == [200] * 3
    limited = client.post("/predict", headers=auth, json={})
    assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
    fresh = client.post("/auth/token", data={"username": user["username"], "password": user["password"]}).json()
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {fresh['access_token']}"}).status_code == 429

    other = new_username()
    client.post("/auth/register", json={"username": other, "password": password})
    other_token = client.post("/auth/token", data={"username": other, "password": password}).json()["access_token"]
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {other_token}"}).status_code == 200

    clock.shift(61)
    assert client.get("/auth/me", headers=auth).status_code == 200


def test_rates_are_read_from_the_environment_and_checked(monkeypatch):
    monkeypatch.setenv("NIDS_TOKEN_RATE_LIMIT", "20/second")
    monkeypatch.setenv("NIDS_LOGIN_LIMIT_PER_USERNAME", "5 per 10 minutes")
    settings = Settings(jwt_secret="s" * 40)
    assert (settings.token_rate_limit, settings.login_limit_per_username) == ("20/second", "5 per 10 minutes")
    monkeypatch.setenv("NIDS_LOGIN_LIMIT_PER_CLIENT", "often")
    with pytest.raises(ValueError, match="'often' is not a rate in the `limits` notation"):
        Settings(jwt_secret="s" * 40)


def test_registrations_per_client_are_limited_taken_names_included(client, app, new_username, password, set_rate_limits, clock):
    set_rate_limits(register_limit_per_client="3/minute")
    taken = new_username()
    attempts = [taken, taken, new_username()]  # a taken name costs a hash as well: it counts
    statuses = [client.post("/auth/register", json={"username": u, "password": password}).status_code for u in attempts]
    assert statuses == [201, 409, 201]
    refused = client.post("/auth/register", json={"username": new_username(), "password": password})
    assert refused.status_code == 429 and refused.json() == {"detail": "too many requests: try again later"}
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    invalid = client.post("/auth/register", json={"username": "x", "password": password})
    assert invalid.status_code == 422  # refused by validation before it is counted or limited
    with TestClient(app, client=("203.0.113.9", 40000)) as elsewhere:  # another address is not held back
        assert elsewhere.post("/auth/register", json={"username": new_username(), "password": password}).status_code == 201
    clock.shift(61)
    assert client.post("/auth/register", json={"username": new_username(), "password": password}).status_code == 201


def test_registrations_are_limited_by_default():
    assert Settings.model_fields["register_limit_per_client"].default == "5/hour"


def test_the_per_user_request_rate_is_counted_in_memory_whatever_the_shared_storage(make_settings):
    limits = RateLimits.from_settings(make_settings(token_rate_limit="5/second"))
    assert isinstance(limits.per_user.limiter.storage, MemoryStorage)  # a shared store would cost every request a round trip
    assert isinstance(limits.login_per_username.limiter.storage, DatabaseStorage)
    limits = RateLimits.from_settings(make_settings(rate_limit_storage="memory://"))
    assert isinstance(limits.register_per_client.limiter.storage, MemoryStorage)


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("redis://127.0.0.1:6379", True),
        ("redis+sentinel://127.0.0.1:26379/main", True),
        ("memory://", True),
        ("memcached://127.0.0.1:11211", False),  # no moving windows
        ("async+redis://127.0.0.1:6379", False),  # the service counts from synchronous code
        ("postgresql://127.0.0.1/nids", False),
        ("127.0.0.1:6379", False),
    ],
)
def test_the_rate_limit_storage_is_checked_at_start_up(url, accepted):
    if accepted:
        assert Settings(jwt_secret="s" * 40, rate_limit_storage=url).rate_limit_storage == url
    else:
        with pytest.raises(ValueError, match="is not a `limits` storage URL with moving windows"):
            Settings(jwt_secret="s" * 40, rate_limit_storage=url)
