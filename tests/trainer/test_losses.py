"""Loss-level balancing: each loss's value against its formula, and a network fitted with it still exports as a
probability-output ONNX graph."""

import keras
import numpy as np
import onnxruntime as ort
import pytest

from preprocess.defaults import LOSSES
from trainer.export import export_onnx
from trainer.losses import class_weights, loss_for
from trainer.models import INPUT_NAME, OUTPUT_NAME, build

PROBS = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.5, 0.25, 0.25]], dtype=np.float32)
LABELS = np.array([0, 2, 1])


def _value(loss, y=LABELS, p=PROBS) -> np.ndarray:
    return keras.ops.convert_to_numpy(loss(keras.ops.convert_to_tensor(y), keras.ops.convert_to_tensor(p)))


def test_class_weights_make_every_class_weigh_the_same_in_total():
    y = np.array([0] * 6 + [1] * 3 + [2] * 1)
    weights = class_weights(y, 4)
    assert weights[3] == 0  # no rows: never a label
    assert np.allclose(np.bincount(y, weights=weights[y]), len(y) / 3)
    loss, per_row = loss_for("class-weight", y, 4)
    assert loss == "sparse_categorical_crossentropy" and np.allclose(per_row, weights[y])


def test_focal_loss_is_crossentropy_scaled_down_where_the_model_is_already_right():
    loss, weights = loss_for("focal", LABELS, 3, gamma=2.0)
    p_true = PROBS[np.arange(3), LABELS]
    assert weights is None
    assert np.allclose(_value(loss), -((1 - p_true) ** 2) * np.log(p_true), atol=1e-6)


def test_logit_adjusted_loss_is_crossentropy_of_the_prior_shifted_softmax():
    y = np.array([0] * 8 + [1] * 1 + [2] * 1)
    loss, _ = loss_for("logit-adjust", y, 3, tau=1.0)
    priors = np.bincount(y) / len(y)
    shifted = np.log(PROBS) + np.log(priors)
    expected = np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(3), LABELS]
    assert np.allclose(_value(loss), expected, atol=1e-5)
    # Uniform priors shift every logit alike: plain cross-entropy.
    uniform, _ = loss_for("logit-adjust", np.array([0, 1, 2]), 3)
    assert np.allclose(_value(uniform), -np.log(PROBS[np.arange(3), LABELS]), atol=1e-5)


def test_unknown_loss_is_refused():
    with pytest.raises(ValueError, match="unknown loss"):
        loss_for("hinge", LABELS, 3)


@pytest.mark.parametrize("name", LOSSES)
def test_a_network_fitted_with_each_loss_exports_probabilities(name, tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.random((64, 12), dtype=np.float32), np.r_[np.zeros(48, int), np.ones(12, int), np.full(4, 2)]
    loss, weights = loss_for(name, y, 3)
    network = build("cnn", 12, 3, loss=loss)
    history = network.fit(X, y, sample_weight=weights, epochs=1, batch_size=32, verbose=0).history
    assert np.isfinite(history["loss"][0])
    export_onnx(network, 12, tmp_path / "model.onnx")
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    probs = session.run([OUTPUT_NAME], {INPUT_NAME: X})[0]
    assert probs.shape == (64, 3) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5) and (probs >= 0).all()
    assert np.allclose(probs, network.predict(X, verbose=0), atol=1e-4)
