"""POST /predict and /predict/batch: the whole flow, and every way a request can be wrong."""

import json
import logging
import math

import pytest

from preprocess.metadata import CategoricalFeature, NumericFeature
from inference import Model


def _reference(index, metadata) -> dict:
    """dataset -> the metadata its request schema is built from (its default model's)."""
    return {dataset: metadata[model_id] for dataset, model_id in index["dataset_defaults"].items()}


def _find_feature(index, metadata, predicate):
    for dataset, meta in _reference(index, metadata).items():
        for feature in meta.features:
            if predicate(feature):
                return dataset, feature
    pytest.skip("no served dataset has such a feature")


def _post(client, auth, path, body) -> tuple[int, dict]:
    response = client.post(path, headers=auth, json=body)
    return response.status_code, response.json()


def test_whole_flow_register_token_models_predict_batch(client, new_username, index, examples):
    username = new_username()
    assert client.post("/auth/register", json={"username": username, "password": "flow password"}).status_code == 201
    token = client.post("/auth/token", data={"username": username, "password": "flow password"}).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    models = client.get("/models", headers=auth).json()["models"]
    assert {m["id"] for m in models} == {entry["id"] for entry in index["models"]}
    for model in models:
        records = examples[model["dataset"]]
        status, single = _post(
            client, auth, "/predict", {"dataset": model["dataset"], "model": model["id"], "record": next(iter(records.values()))}
        )
        assert status == 200 and single["model"] == model["id"]
        prediction = single["prediction"]
        assert set(prediction["probabilities"]) == set(model["classes"])
        assert math.isclose(sum(prediction["probabilities"].values()), 1.0, abs_tol=1e-4)
        assert (
            prediction["confidence"]
            == max(prediction["probabilities"].values())
            == prediction["probabilities"][prediction["label"]]
        )
        assert prediction["is_attack"] == (prediction["label"] != model["normal_class"])
        status, batch = _post(
            client, auth, "/predict/batch", {"dataset": model["dataset"], "model": model["id"], "records": list(records.values())}
        )
        assert status == 200 and batch["model"] == model["id"] and len(batch["predictions"]) == len(records)
        assert batch["predictions"][0] == prediction


def test_without_a_model_the_dataset_default_answers(client, auth, index, examples):
    for dataset, default in index["dataset_defaults"].items():
        status, body = _post(client, auth, "/predict", {"dataset": dataset, "record": next(iter(examples[dataset].values()))})
        assert status == 200 and body["model"] == default


def test_batch_keeps_the_input_order(client, auth, examples):
    for dataset, by_class in examples.items():
        records = list(by_class.values())
        singles = [_post(client, auth, "/predict", {"dataset": dataset, "record": r})[1]["prediction"] for r in records]
        status, batch = _post(client, auth, "/predict/batch", {"dataset": dataset, "records": records[::-1]})
        assert status == 200 and batch["predictions"] == singles[::-1]


def test_identifier_and_label_columns_are_accepted_and_ignored(client, auth, index, metadata, examples):
    for dataset, meta in _reference(index, metadata).items():
        record = next(iter(examples[dataset].values()))
        extras = {name: "ignored-value" for name in meta.ignored_columns}
        plain = _post(client, auth, "/predict", {"dataset": dataset, "record": record})
        with_extras = _post(client, auth, "/predict", {"dataset": dataset, "record": record | extras})
        assert plain[0] == with_extras[0] == 200 and plain[1] == with_extras[1]


def test_unseen_value_of_an_open_categorical_is_accepted(client, auth, index, metadata, examples):
    dataset, feature = _find_feature(index, metadata, lambda f: isinstance(f, CategoricalFeature) and not f.closed)
    record = next(iter(examples[dataset].values())) | {feature.name: "never-seen-before"}
    assert _post(client, auth, "/predict", {"dataset": dataset, "record": record})[0] == 200


def test_unknown_model_is_404(client, auth, examples):
    dataset, by_class = next(iter(examples.items()))
    status, body = _post(
        client, auth, "/predict", {"dataset": dataset, "model": "no-such-model", "record": next(iter(by_class.values()))}
    )
    assert status == 404 and "no-such-model" in body["detail"]
    status, _ = _post(
        client, auth, "/predict/batch", {"dataset": dataset, "model": "no-such-model", "records": list(by_class.values())}
    )
    assert status == 404


def test_model_of_another_dataset_is_422(client, auth, index, examples):
    if len(index["dataset_defaults"]) < 2:
        pytest.skip("needs models of two datasets")
    (dataset, by_class), (_, other_model) = list(examples.items())[0], list(index["dataset_defaults"].items())[1]
    for path, body in (
        ("/predict", {"record": next(iter(by_class.values()))}),
        ("/predict/batch", {"records": list(by_class.values())}),
    ):
        status, answer = _post(client, auth, path, {"dataset": dataset, "model": other_model} | body)
        assert status == 422 and answer["detail"][0]["loc"] == ["body", "model"]


def _error_locations(client, auth, body) -> list:
    status, answer = _post(client, auth, "/predict", body)
    assert status == 422, answer
    return [error["loc"] for error in answer["detail"]]


def test_unknown_or_missing_dataset_is_422(client, auth, examples):
    record = next(iter(next(iter(examples.values())).values()))
    assert _error_locations(client, auth, {"dataset": "kdd-99", "record": record}) == [["body"]]
    assert _error_locations(client, auth, {"record": record}) == [["body"]]


def _bad_record(index, metadata, examples, predicate, value) -> tuple[str, str, dict]:
    dataset, feature = _find_feature(index, metadata, predicate)
    record = next(iter(examples[dataset].values())) | {feature.name: value}
    return dataset, feature.name, {"dataset": dataset, "record": record}


BAD_VALUES = {
    "negative count": (lambda f: isinstance(f, NumericFeature) and f.dtype == "integer" and f.minimum == 0, -1),
    "rate above 1": (lambda f: isinstance(f, NumericFeature) and f.maximum == 1 and f.dtype == "number", 1.5),
    "count beyond 64 bits": (lambda f: isinstance(f, NumericFeature) and f.dtype == "integer" and f.maximum is None, 10**30),
    "fractional count": (lambda f: isinstance(f, NumericFeature) and f.dtype == "integer", 2.5),
    "text for a number": (lambda f: isinstance(f, NumericFeature), "many"),
    "null for a number": (lambda f: isinstance(f, NumericFeature), None),
    "value outside a closed set": (lambda f: isinstance(f, CategoricalFeature) and f.closed, "not-a-protocol-value"),
    "number for a category": (lambda f: isinstance(f, CategoricalFeature), {"nested": 1}),
    "overlong category": (lambda f: isinstance(f, CategoricalFeature) and not f.closed, "x" * 1000),
}


@pytest.mark.parametrize("case", BAD_VALUES)
def test_bad_field_values_are_422_naming_the_field(client, auth, index, metadata, examples, case):
    predicate, value = BAD_VALUES[case]
    dataset, name, body = _bad_record(index, metadata, examples, predicate, value)
    assert _error_locations(client, auth, body) == [["body", dataset, "record", name]]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("dtype", ["integer", "number"])
def test_nan_and_infinity_are_422_naming_the_field(client, auth, index, metadata, examples, literal, dtype):
    dataset, name, body = _bad_record(index, metadata, examples, lambda f: isinstance(f, NumericFeature) and f.dtype == dtype, 0)
    # Python's json module writes (and Starlette reads) these non-standard literals.
    content = json.dumps(body).replace(f'"{name}": 0', f'"{name}": {literal}')
    response = client.post("/predict", headers=auth | {"content-type": "application/json"}, content=content)
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["body", dataset, "record", name]]
    assert "finite" in response.json()["detail"][0]["msg"]


def test_unknown_and_missing_fields_are_422_naming_them(client, auth, examples):
    dataset, by_class = next(iter(examples.items()))
    record = next(iter(by_class.values()))
    assert _error_locations(client, auth, {"dataset": dataset, "record": record | {"bogus_column": 1}}) == [
        ["body", dataset, "record", "bogus_column"]
    ]
    first = next(iter(record))
    missing = {k: v for k, v in record.items() if k != first}
    assert _error_locations(client, auth, {"dataset": dataset, "record": missing}) == [["body", dataset, "record", first]]
    assert _error_locations(client, auth, {"dataset": dataset, "record": record, "extra": 1}) == [["body", dataset, "extra"]]


def test_malformed_json_is_422_saying_where(client, auth):
    response = client.post(
        "/predict", headers=auth | {"content-type": "application/json"}, content='{"dataset": "nsl-kdd", "record": {'
    )
    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert error["type"] == "json_invalid" and error["loc"][0] == "body" and "JSON decode error: " in error["msg"]


def test_batch_over_the_limit_is_422_naming_the_limit(client, auth, examples):
    dataset, by_class = next(iter(examples.items()))
    record = next(iter(by_class.values()))
    status, body = _post(client, auth, "/predict/batch", {"dataset": dataset, "records": [record] * 1001})
    assert status == 422 and body["detail"][0]["loc"] == ["body", dataset, "records"] and "1000" in body["detail"][0]["msg"]
    assert _post(client, auth, "/predict/batch", {"dataset": dataset, "records": [record] * 1000})[0] == 200
    assert _post(client, auth, "/predict/batch", {"dataset": dataset, "records": []})[0] == 422


def test_oversized_body_is_413_before_parsing(client, auth):
    limit = 4 * 1024 * 1024
    too_big = b"{" + b" " * limit + b"}"
    declared = client.post("/predict/batch", headers=auth | {"content-type": "application/json"}, content=too_big)
    # Without Content-Length (chunked), the bytes are counted as they arrive.
    streamed = client.post(
        "/predict/batch", headers=auth | {"content-type": "application/json"}, content=iter([too_big[:1000], too_big[1000:]])
    )
    assert "content-length" not in streamed.request.headers
    for response in (declared, streamed):
        assert response.status_code == 413
        assert str(limit) in response.json()["detail"]
    # also before authentication and on any route
    assert client.post("/auth/register", headers={"content-type": "application/json"}, content=too_big).status_code == 413


def test_unexpected_error_is_a_generic_500_with_a_request_id(client, auth, examples, monkeypatch, caplog):
    def explode(self, encoded):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(Model, "predict_encoded", explode)
    dataset, by_class = next(iter(examples.items()))
    with caplog.at_level(logging.ERROR, logger="service.middleware"):
        response = client.post("/predict", headers=auth, json={"dataset": dataset, "record": next(iter(by_class.values()))})
    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    assert response.json() == {"detail": "internal server error", "request_id": request_id}
    assert "secret" not in response.text and "Traceback" not in response.text
    # the log names the error type under the request id; its message may hold data, so it is not logged
    assert request_id in caplog.text and "RuntimeError" in caplog.text and "secret internal detail" not in caplog.text
