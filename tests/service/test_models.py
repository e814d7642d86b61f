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
        optional = {key: metrics["test"].get(key) for key in ("alerts", "f1_macro_difficulty_weighted")}
        assert model["metrics"]["test"] == metrics["test"] | optional


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


def test_the_catalog_carries_each_models_examples_plots_and_the_batch_limit(client, auth, metadata, app):
    listed = client.get("/models", headers=auth).json()
    assert listed["batch_limit"] == app.state.settings.batch_limit
    for model in listed["models"]:
        assert model["examples"] == metadata[model["id"]].examples
        # Every shipped model has all three figures.
        assert model["plots"] == ["confusion_matrix", "class_balance", "training_history"]


def test_plots_are_the_trainers_png_files(client, auth, index, artifacts_dir):
    for entry in index["models"]:
        for name in ("confusion_matrix", "class_balance", "training_history"):
            response = client.get(f"/models/{entry['id']}/plots/{name}.png", headers=auth)
            assert response.status_code == 200 and response.headers["content-type"] == "image/png"
            assert response.content == (artifacts_dir / entry["path"] / f"{name}.png").read_bytes()


def test_plots_need_a_token_a_known_model_and_a_listed_name(client, auth, index):
    model_id = index["models"][0]["id"]
    assert client.get(f"/models/{model_id}/plots/confusion_matrix.png").status_code == 401
    assert client.get("/models/no-such-model/plots/confusion_matrix.png", headers=auth).status_code == 404
    for name in ("metadata", "model", "..%2Fmetadata", "..%2F..%2Findex"):
        response = client.get(f"/models/{model_id}/plots/{name}.png", headers=auth)
        assert response.status_code in (404, 422) and response.headers["content-type"] == "application/json", name
