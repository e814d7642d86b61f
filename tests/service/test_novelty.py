"""A model with a novelty detector: its answers carry `novelty`; a model without one answers without it."""

import pytest
from fastapi.testclient import TestClient

from inference import load_models
from service.main import create_app
from tests.inference.conftest import NOVELTY_MODEL, write_novelty_artifacts


@pytest.fixture(scope="module")
def novelty_root(tmp_path_factory, artifacts_dir):
    return write_novelty_artifacts(tmp_path_factory.mktemp("novelty-artifacts"), artifacts_dir)


@pytest.fixture(scope="module")
def novelty_client(make_settings, novelty_root):
    """The tiny novelty model served alone, on the test database: tokens of the shared app's users work here."""
    with TestClient(create_app(make_settings(artifacts_dir=novelty_root))) as client:
        yield client


def test_answers_carry_novelty_score_threshold_and_unknown(novelty_client, auth, novelty_root):
    model = load_models(novelty_root).get(NOVELTY_MODEL)
    records = list(model.meta.examples.values())
    expected = model.predict_records(records).answers()
    batch = novelty_client.post("/predict/batch", headers=auth, json={"dataset": model.dataset, "records": records})
    assert batch.status_code == 200, batch.text
    assert batch.json() == {"model": NOVELTY_MODEL, "predictions": expected}
    novelty = [p["novelty"] for p in batch.json()["predictions"]]
    assert {n["threshold"] for n in novelty} == {model.meta.novelty.threshold}
    assert [n["unknown"] for n in novelty] == [n["score"] > n["threshold"] for n in novelty]
    assert 0 < sum(n["unknown"] for n in novelty) < len(records)  # the tiny model's threshold splits its examples
    for record, answer in zip(records, expected, strict=True):
        single = novelty_client.post("/predict", headers=auth, json={"dataset": model.dataset, "record": record})
        assert single.json()["prediction"] == answer


def test_shipped_models_answer_with_novelty_exactly_when_they_carry_a_detector(client, auth, index, metadata):
    for entry in index["models"]:
        meta = metadata[entry["id"]]
        body = {"dataset": meta.dataset, "model": entry["id"], "records": list(meta.examples.values())}
        response = client.post("/predict/batch", headers=auth, json=body)
        assert response.status_code == 200, response.text
        assert all(("novelty" in p) == (meta.novelty is not None) for p in response.json()["predictions"]), entry["id"]


def test_openapi_documents_novelty_as_optional(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert "novelty" in schemas["Prediction"]["properties"] and "novelty" not in schemas["Prediction"]["required"]
    assert set(schemas["Novelty"]["required"]) == {"score", "threshold", "unknown"}


def test_the_models_list_gives_each_detector_and_whether_it_decides(client, auth, metadata):
    listed = {m["id"]: m for m in client.get("/models", headers=auth).json()["models"]}
    for model_id, meta in metadata.items():
        assert listed[model_id]["novelty"] == (meta.novelty.model_dump() if meta.novelty else None), model_id
    deciding = sorted(m for m, meta in metadata.items() if meta.novelty and meta.novelty.unknown_is_attack)
    assert deciding == ["nsl-kdd-binary-cnn", "nsl-kdd-binary-cnn-lstm"]  # chosen on held-out subtypes (trainer ship)
