"""GET /models and /models/{id}: what the artifacts say about each model."""

import json


def test_models_lists_every_indexed_model_with_its_metadata_and_test_metrics(client, auth, index, metadata, artifacts_dir):
    response = client.get("/models", headers=auth)
    assert response.status_code == 200
    listed = {m["id"]: m for m in response.json()["models"]}
    assert set(listed) == {entry["id"] for entry in index["models"]}
    for entry in index["models"]:
        model, meta = listed[entry["id"]], metadata[entry["id"]]
        for key in ("dataset", "task", "architecture", "balancing"):
            assert model[key] == entry[key]
        assert model["classes"] == meta.classes
        assert model["default"] == (index["dataset_defaults"][entry["dataset"]] == entry["id"])
        assert [f["name"] for f in model["features"]] == [f.name for f in meta.features]
        assert model["ignored_columns"] == meta.ignored_columns
        metrics = json.loads((artifacts_dir / entry["path"] / "metrics.json").read_text())
        assert model["metrics"]["test"] == metrics["test"]


def test_feature_descriptions_carry_types_bounds_and_choices(client, auth, metadata):
    model_id, meta = next(iter(metadata.items()))
    features = {f["name"]: f for f in client.get(f"/models/{model_id}", headers=auth).json()["features"]}
    for feature in meta.features:
        described = features[feature.name]
        if feature.kind == "categorical":
            assert described["type"] == "categorical"
            assert described["choices"] == feature.vocabulary and described["closed"] == feature.closed
        else:
            assert described["type"] == feature.dtype
            assert (described["minimum"], described["maximum"]) == (feature.minimum, feature.maximum)


def test_one_model_and_unknown_model(client, auth, index):
    first = index["models"][0]["id"]
    response = client.get(f"/models/{first}", headers=auth)
    assert response.status_code == 200 and response.json()["id"] == first
    missing = client.get("/models/no-such-model", headers=auth)
    assert missing.status_code == 404 and "no-such-model" in missing.json()["detail"]
