"""A network blended with a random forest in one ONNX graph, and a whole run that ships one (on real rows)."""

import keras
import numpy as np
import onnxruntime as ort
import pytest
from sklearn.ensemble import RandomForestClassifier

from inference import load_model
from preprocess import Preprocessor, load_metadata
from trainer.config import TrainConfig
from trainer.datasets import NF_BOT_IOT_V2
from trainer.export import keras_graph
from trainer.forest import NETWORK_SHARES, FittedForest
from trainer.load import load
from trainer.models import INPUT_NAME, OUTPUT_NAME
from trainer.train import run


def test_joined_graph_serves_the_weighted_mean_of_network_and_forest_and_keeps_other_outputs():
    rng = np.random.default_rng(0)
    X, y = rng.random((400, 6), dtype=np.float32), rng.integers(0, 3, 400)
    inputs = keras.Input(shape=(6,), name=INPUT_NAME)
    probabilities = keras.layers.Dense(3, activation="softmax", name=OUTPUT_NAME)(inputs)
    score = keras.layers.Dense(1, name="novelty")(inputs)  # stands in for a novelty detector's second output
    network = keras.Model(inputs, [probabilities, score])
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    fitted = FittedForest(forest, network_share=0.3, validation_f1={0.3: 1.0})

    session = ort.InferenceSession(fitted.joined(keras_graph(network, 6)).SerializeToString())
    served, served_score = session.run([OUTPUT_NAME, "novelty"], {INPUT_NAME: X})

    expected, expected_score = network.predict(X, verbose=0)
    np.testing.assert_allclose(served, 0.3 * expected + 0.7 * forest.predict_proba(X), atol=1e-6)
    np.testing.assert_allclose(served, fitted.blend(expected, X), atol=1e-6)
    np.testing.assert_allclose(served_score, expected_score, atol=1e-5)


@pytest.fixture(scope="module")
def shipped(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("artifacts")
    cfg = TrainConfig(
        dataset="nf-bot-iot-v2",
        task="multiclass",
        architecture="cnn",
        balance="ros",
        balance_target=0.25,
        scaling="quantile",
        forest_trees=10,
        epochs=1,
        limit_rows=8000,
        class_floor=40,
        run_baseline=False,
        data_dir=data_dir,
        out_dir=out,
    )
    return run(cfg), out / cfg.model_id


def test_a_run_with_a_forest_records_the_share_it_chose_on_validation(shipped):
    metrics, folder = shipped
    assert folder.name == "nf-bot-iot-v2-multiclass-cnn-forest"
    scores = {float(w): f for w, f in metrics["forest"]["validation_f1_macro_by_network_share"].items()}
    assert set(scores) == set(NETWORK_SHARES)
    assert metrics["forest"]["network_share"] == max(scores, key=scores.get)
    assert metrics["validation"]["f1_macro"] == pytest.approx(scores[metrics["forest"]["network_share"]], abs=1e-5)
    meta = load_metadata(folder / "metadata.json")
    assert "random forest (10 trees" in meta.architecture and meta.training["forest"]["trees"] == 10
    assert meta.training["scaling"] == "quantile"
    assert all(f.quantiles is not None for f in meta.features if f.kind == "numeric")


def test_the_inference_core_serves_the_blend(shipped, data_dir):
    """Through the inference core the service, CLI and Spark job share: the same rows, the same answers."""
    metrics, folder = shipped
    model = load_model(folder)
    meta = load_metadata(folder / "metadata.json")
    rows = load(NF_BOT_IOT_V2, "multiclass", data_dir / "bot-iot" / "nf_bot_iot_v2_train.csv.gz")
    sample = rows.features.iloc[:3000]
    X = Preprocessor(meta).transform(sample.to_dict("records"))
    session = ort.InferenceSession(str(folder / "model.onnx"))
    probabilities, novelty = session.run([OUTPUT_NAME, "novelty"], {INPUT_NAME: X})
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    answered = model.predict_records(sample.to_dict("records"))
    assert answered.labels.tolist() == [meta.classes[i] for i in probabilities.argmax(axis=1)]
    np.testing.assert_allclose(answered.probabilities, probabilities, atol=1e-6)
    assert metrics["onnx_parity"]["probabilities"] <= 1e-4 and novelty.shape[0] == 3000
