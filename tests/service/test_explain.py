"""POST /predict/explain on every shipped model: the prediction and additive per-column contributions."""

import pytest
from fastapi.testclient import TestClient

from inference import load_models
from service.main import create_app
from tests.inference.conftest import NOVELTY_MODEL, write_novelty_artifacts

# Contributions add up to (probability - base value) by construction; what is left is float rounding of
# probabilities that onnxruntime computes in float32, in batches of different sizes.
ADDITIVITY_TOLERANCE = 1e-5


def test_explain_answers_prediction_and_additive_contributions(client, auth, index, metadata):
    for entry in index["models"]:
        meta = metadata[entry["id"]]
        for record in meta.examples.values():
            body = {"dataset": meta.dataset, "model": entry["id"], "record": record}
            response = client.post("/predict/explain", headers=auth, json=body)
            assert response.status_code == 200, response.text
            answer = response.json()
            predicted = client.post("/predict", headers=auth, json=body).json()
            assert answer["model"] == entry["id"] and answer["prediction"] == predicted["prediction"]
            explanation, prediction = answer["explanation"], answer["prediction"]
            assert explanation["label"] == prediction["label"]
            assert explanation["value"] == pytest.approx(prediction["confidence"], abs=1e-6)
            contributions = explanation["contributions"]
            assert [c["feature"] for c in contributions] == sorted(
                [f.name for f in meta.features],
                key=lambda name: -abs(next(c["contribution"] for c in contributions if c["feature"] == name)),
            )
            assert all(c["value"] == record[c["feature"]] for c in contributions)
            total = sum(c["contribution"] for c in contributions)
            assert total == pytest.approx(
                prediction["confidence"] - explanation["base_value"],
                abs=ADDITIVITY_TOLERANCE,
            )
            assert explanation["background_rows"] == len(meta.background)


def test_the_same_record_gets_the_same_explanation(client, auth, examples):
    body = {"dataset": "nsl-kdd", "record": examples["nsl-kdd"]["DoS"]}
    first, second = (client.post("/predict/explain", headers=auth, json=body).json() for _ in range(2))
    assert first == second


def test_a_column_equal_in_the_record_and_every_background_row_contributes_nothing(client, auth, metadata, examples):
    """The null-player property on the real model: switching such a column never changes a row."""
    meta = metadata["nsl-kdd-multiclass-cnn"]
    for record in examples["nsl-kdd"].values():
        body = {"dataset": "nsl-kdd", "model": meta.model_id, "record": record}
        contributions = client.post("/predict/explain", headers=auth, json=body).json()["explanation"]["contributions"]
        constant = {name for name, value in record.items() if all(row.get(name) == value for row in meta.background)}
        assert constant, "the example shares no column with every background row: pick another record"
        assert all(c["contribution"] == 0.0 for c in contributions if c["feature"] in constant)
        assert any(c["contribution"] != 0.0 for c in contributions)


def test_explain_errors(client, auth, examples, bare_client):
    record = examples["nsl-kdd"]["normal"]
    assert client.post("/predict/explain", json={"dataset": "nsl-kdd", "record": record}).status_code == 401
    response = client.post(
        "/predict/explain",
        headers=auth,
        json={"dataset": "nsl-kdd", "model": "nope", "record": record},
    )
    assert response.status_code == 404 and "nope" in response.json()["detail"]
    response = client.post(
        "/predict/explain",
        headers=auth,
        json={
            "dataset": "nsl-kdd",
            "model": "nf-bot-iot-v2-multiclass-cnn",
            "record": record,
        },
    )
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == [
        "body",
        "model",
    ]
    response = client.post(
        "/predict/explain",
        headers=auth,
        json={"dataset": "nsl-kdd", "record": dict(record, src_bytes=-1)},
    )
    assert response.status_code == 422 and "src_bytes" in response.json()["detail"][0]["loc"]
    credentials = {"username": "explain-bare-user", "password": "correct horse battery"}
    bare_client.post("/auth/register", json=credentials)
    token = bare_client.post("/auth/token", data=credentials).json()["access_token"]
    response = bare_client.post(
        "/predict/explain",
        headers={"Authorization": f"Bearer {token}"},
        json={"dataset": "nsl-kdd", "record": record},
    )
    assert response.status_code == 409 and "background" in response.json()["detail"]


def test_a_novelty_models_explanation_carries_its_novelty(make_settings, tmp_path_factory, artifacts_dir, auth):
    root = write_novelty_artifacts(tmp_path_factory.mktemp("explain-novelty"), artifacts_dir)
    record = load_models(root).get(NOVELTY_MODEL).meta.examples["DoS"]
    with TestClient(create_app(make_settings(artifacts_dir=root))) as novelty_client:
        body = {"dataset": "nsl-kdd", "record": record}
        explained = novelty_client.post("/predict/explain", headers=auth, json=body).json()
        predicted = novelty_client.post("/predict", headers=auth, json=body).json()
    assert explained["prediction"] == predicted["prediction"] and "novelty" in explained["prediction"]
