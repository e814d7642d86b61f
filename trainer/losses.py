"""Loss-level balancing (`--loss`): each option is a Keras loss on the network's probabilities, so the network and
its exported ONNX graph are the same for every option and still output probabilities.

- crossentropy: sparse categorical cross-entropy.
- class-weight: cross-entropy with each row weighted n / (k * rows of its class), from the rows fitted.
- focal: -(1 - p_true)^gamma * log(p_true), which spends less of the gradient on rows already right.
- logit-adjust: cross-entropy of softmax(logits + tau * log(prior)), prior = each class's share of the rows fitted.
  Since log(p) = logits - logsumexp(logits), that softmax is computed from the probabilities. The adjustment applies
  at training time only: at inference the plain softmax is the answer, which shifts decisions towards rare classes.

The class counts are those of the rows the network is fitted on, i.e. after balancing: the loss corrects the
imbalance the network sees. With balancing to the majority (target 1) the classes are equal, and class-weight
and logit-adjust are plain cross-entropy; pair them with `--balance none` or a target below 1.
"""

import numpy as np
from keras import ops

from preprocess.defaults import LOSSES

EPSILON = 1e-7  # probabilities are clipped here before a log, as Keras' own cross-entropy does


def class_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    """n / (k * count) per class index; a class without rows gets weight 0 (it never occurs as a label)."""
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    present = counts > 0
    weights = np.zeros(n_classes)
    weights[present] = len(y) / (present.sum() * counts[present])
    return weights.astype(np.float32)


def _true_probability(y_true, y_pred):
    onehot = ops.one_hot(ops.cast(ops.reshape(y_true, [-1]), "int32"), ops.shape(y_pred)[-1])
    return onehot, ops.sum(y_pred * onehot, axis=-1)


def focal(gamma: float):
    def focal_loss(y_true, y_pred):
        _, p_true = _true_probability(y_true, ops.clip(y_pred, EPSILON, 1.0))
        return -ops.power(1.0 - p_true, gamma) * ops.log(p_true)

    return focal_loss


def logit_adjusted(priors: np.ndarray, tau: float):
    shift = ops.convert_to_tensor((tau * np.log(np.maximum(priors, EPSILON))).astype(np.float32))

    def logit_adjusted_loss(y_true, y_pred):
        adjusted = ops.log(ops.clip(y_pred, EPSILON, 1.0)) + shift
        onehot, _ = _true_probability(y_true, y_pred)
        return ops.logsumexp(adjusted, axis=-1) - ops.sum(adjusted * onehot, axis=-1)

    return logit_adjusted_loss


def loss_for(name: str, y: np.ndarray, n_classes: int, gamma: float = 2.0, tau: float = 1.0):
    """(the Keras loss, per-row sample weights or None) for fitting on labels `y` (class indices)."""
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose from {', '.join(LOSSES)}")
    if name == "class-weight":
        return "sparse_categorical_crossentropy", class_weights(y, n_classes)[y]
    if name == "focal":
        return focal(gamma), None
    if name == "logit-adjust":
        return logit_adjusted(np.bincount(y, minlength=n_classes) / len(y), tau), None
    return "sparse_categorical_crossentropy", None
