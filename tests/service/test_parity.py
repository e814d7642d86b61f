"""Predictions through the API equal onnxruntime run directly on Preprocessor-encoded real rows, and the
inference core's answers (which the command line and the batch job give) to the last bit."""

import numpy as np
import onnxruntime as ort
import pytest

from inference import load_models
from preprocess.transform import Preprocessor
from preprocess.verdict import called_classes

# Real rows of each dataset, posted exactly as the file holds them (labels and identifiers included).
REAL_FILES = {"nsl-kdd": "nsl-kdd/KDDTest+.txt.gz", "nf-bot-iot-v2": "bot-iot/nf_bot_iot_v2_train.csv.gz"}
ROWS_PER_CLASS = 40


@pytest.fixture(scope="session")
def real_rows(data_dir) -> dict[str, list[dict]]:
    """Up to ROWS_PER_CLASS random rows of every class, so rare classes are in the sample too."""
    from trainer.datasets import DATASETS
    from trainer.load import labels_for, read_table

    rows = {}
    for dataset, file in REAL_FILES.items():
        spec, path = DATASETS[dataset], data_dir / file
        frame = read_table(spec, path)
        classes = labels_for(spec, "multiclass", frame, path)
        sample = frame.sample(frac=1.0, random_state=0).groupby(classes, sort=False).head(ROWS_PER_CLASS)
        rows[dataset] = sample.to_dict("records")
    return rows


def _direct_outputs(folder, meta, records: list[dict]) -> list[np.ndarray]:
    """Probabilities, then the novelty score when the model has a detector."""
    session = ort.InferenceSession(str(folder / meta.onnx.file), providers=["CPUExecutionProvider"])
    names = [meta.onnx.output_name] + ([meta.novelty.output_name] if meta.novelty else [])
    return session.run(names, {meta.onnx.input_name: Preprocessor(meta).transform(records)})


def test_batch_predictions_equal_direct_onnxruntime(client, auth, index, metadata, real_rows, artifacts_dir):
    served = [entry for entry in index["models"] if entry["dataset"] in REAL_FILES]
    assert {entry["dataset"] for entry in served} == set(REAL_FILES), "a dataset with real test rows has no model"
    for entry in served:
        meta, records = metadata[entry["id"]], real_rows[entry["dataset"]]
        response = client.post(
            "/predict/batch", headers=auth, json={"dataset": entry["dataset"], "model": entry["id"], "records": records}
        )
        assert response.status_code == 200, response.text[:500]
        predictions = response.json()["predictions"]
        expected, *score = _direct_outputs(artifacts_dir / entry["path"], meta, records)
        served_probabilities = np.array([[p["probabilities"][c] for c in meta.classes] for p in predictions])
        np.testing.assert_allclose(served_probabilities, expected, rtol=0, atol=1e-6, err_msg=entry["id"])
        labels = [p["label"] for p in predictions]
        normal = meta.classes.index(meta.normal_class)
        unknown = score[0].reshape(-1).astype(np.float64) > meta.novelty.threshold if meta.novelty else None
        deciding = bool(meta.novelty and meta.novelty.unknown_is_attack)
        if deciding:  # real test rows the rule calls attacks (the rule itself: tests/inference/test_model.py)
            assert (unknown & (expected.argmax(axis=1) == normal)).any(), entry["id"]
        called = called_classes(expected, normal, unknown, deciding)
        assert labels == [meta.classes[i] for i in called], entry["id"]


def test_single_predictions_equal_direct_onnxruntime(client, auth, index, metadata, real_rows, artifacts_dir):
    for dataset, model_id in index["dataset_defaults"].items():
        if dataset not in REAL_FILES:
            continue
        entry = next(e for e in index["models"] if e["id"] == model_id)
        records = real_rows[dataset][:: max(1, len(real_rows[dataset]) // 20)]
        expected = _direct_outputs(artifacts_dir / entry["path"], metadata[model_id], records)[0]
        for record, row in zip(records, expected, strict=True):
            response = client.post("/predict", headers=auth, json={"dataset": dataset, "record": record})
            probabilities = response.json()["prediction"]["probabilities"]
            np.testing.assert_allclose([probabilities[c] for c in metadata[model_id].classes], row, rtol=0, atol=1e-6)


def test_answers_equal_the_inference_core_exactly(client, auth, index, real_rows, artifacts_dir):
    """The command line and the batch job answer through inference/: the API must give the very same answers."""
    models = load_models(artifacts_dir)
    for entry in index["models"]:
        if entry["dataset"] not in REAL_FILES:
            continue
        records = real_rows[entry["dataset"]]
        core = models.get(entry["id"]).predict_records(records).answers()
        response = client.post(
            "/predict/batch", headers=auth, json={"dataset": entry["dataset"], "model": entry["id"], "records": records}
        )
        assert response.json()["predictions"] == core, entry["id"]
        body = {"dataset": entry["dataset"], "model": entry["id"], "record": records[0]}
        single = client.post("/predict", headers=auth, json=body)
        assert single.json()["prediction"] == core[0], entry["id"]
