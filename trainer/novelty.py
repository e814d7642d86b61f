"""Unseen-attack detectors: a score per record of how unlike the training data it is, built as Keras layers reading the
trained network's input or penultimate layer, so the exported ONNX graph answers `probabilities` and `novelty` in one run.

Each detector is fitted on the real (unbalanced) training rows only; its threshold is set on the validation split so
that at most `budget` of the normal validation records score above it (`threshold_for`).
"""

from dataclasses import dataclass

import keras
import numpy as np
from keras import layers, ops
from sklearn.covariance import LedoitWolf
from sklearn.metrics import roc_auc_score

from preprocess.metadata import NoveltyInfo
from trainer.evaluate import alerts
from trainer.export import NOVELTY_OUTPUT, PARITY_TOLERANCE, keras_outputs
from trainer.models import INPUT_NAME, OUTPUT_NAME
from trainer.prepare import Encoded

METHOD_TEXT = {
    "mahalanobis": "smallest squared Mahalanobis distance to a training class's mean, on the network's penultimate layer"
    " (shared Ledoit-Wolf covariance of the training rows)",
    "energy": "energy of the logits, -logsumexp: low when some known class fits the record well",
    "input-mahalanobis": "smallest squared Mahalanobis distance to a training class's mean, on the encoded record itself"
    " (shared Ledoit-Wolf covariance of the training rows)",
}


def load_keras_model(path) -> keras.Model:
    """A model.keras the trainer saved: importing this module registers the detector layers it may hold."""
    return keras.saving.load_model(path)


@keras.saving.register_keras_serializable(package="nids")
class ClassDistance(layers.Layer):
    """min over classes of |(f - centre_c) @ whiten|^2: the squared Mahalanobis distance to the nearest class mean when
    whiten @ whiten.T is the precision matrix. Whitening first keeps the sums exact enough: no large terms cancel.
    Computed in float64 and rounded to float32 at the end: onnxruntime's float32 kernels sum a row in an order that
    depends on its position in the batch, which moved the score by one float32 step between a record sent alone and
    in a batch; float64's differences vanish in the rounding."""

    def __init__(self, n_classes: int, width: int, reads: str = "penultimate", **kwargs):
        super().__init__(**kwargs)
        self.n_classes, self.width, self.reads = n_classes, width, reads  # reads: "penultimate" features or the "input"
        self.centres = self.add_weight(shape=(n_classes, width), initializer="zeros", trainable=False, name="centres")
        self.whiten = self.add_weight(shape=(width, width), initializer="identity", trainable=False, name="whiten")

    def call(self, features):
        whiten = ops.cast(self.whiten, "float64")
        z = ops.matmul(ops.cast(features, "float64"), whiten)[:, None, :]  # (n, 1, width)
        centres = ops.matmul(ops.cast(self.centres, "float64"), whiten)[None, :, :]  # (1, classes, width)
        return ops.cast(ops.min(ops.sum(ops.square(z - centres), axis=-1), axis=-1), "float32")

    def get_config(self):
        return super().get_config() | {"n_classes": self.n_classes, "width": self.width, "reads": self.reads}


@keras.saving.register_keras_serializable(package="nids")
class Energy(layers.Layer):
    """-logsumexp(features @ kernel + bias), the output layer's logits: the energy score."""

    def __init__(self, width: int, n_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.width, self.n_classes = width, n_classes
        self.kernel = self.add_weight(shape=(width, n_classes), initializer="zeros", trainable=False, name="kernel")
        self.bias = self.add_weight(shape=(n_classes,), initializer="zeros", trainable=False, name="bias")

    def call(self, features):
        return -ops.logsumexp(ops.matmul(features, self.kernel) + self.bias, axis=-1)

    def get_config(self):
        return super().get_config() | {"width": self.width, "n_classes": self.n_classes}


def penultimate(network: keras.Model):
    """The symbolic input of the network's softmax layer: the features every detector reads."""
    return network.get_layer(OUTPUT_NAME).input


def detector(
    method: str, network: keras.Model, X_train: np.ndarray, y_train: np.ndarray, name: str = NOVELTY_OUTPUT
) -> layers.Layer:
    """The detector layer for `method` on `network`'s penultimate layer, its constants fitted on the training rows
    (X_train, family indices y_train)."""
    if method == "input-mahalanobis":
        features = X_train.astype(np.float64)
    else:
        features_of = keras.Model(network.input, penultimate(network))
        features = features_of.predict(X_train, batch_size=4096, verbose=0).astype(np.float64)
    width = features.shape[1]
    if method in ("mahalanobis", "input-mahalanobis"):
        classes = np.unique(y_train)
        centres = np.stack([features[y_train == c].mean(axis=0) for c in classes])
        within = features - centres[np.searchsorted(classes, y_train)]
        # shrunk: dead ReLU units and one-hot columns never set in training have no variance
        precision = LedoitWolf(assume_centered=True).fit(within).precision_
        layer = ClassDistance(len(classes), width, reads="input" if method == "input-mahalanobis" else "penultimate", name=name)
        layer.build((None, width))
        layer.set_weights([centres.astype(np.float32), np.linalg.cholesky(precision).astype(np.float32)])
        return layer
    if method == "energy":
        kernel, bias = network.get_layer(OUTPUT_NAME).get_weights()
        layer = Energy(width, len(bias), name=name)
        layer.build((None, width))
        layer.set_weights([kernel, bias])
        return layer
    raise ValueError(f"unknown novelty method {method!r}: use one of {', '.join(METHOD_TEXT)}")


def read_by(layer: layers.Layer, inputs, features):
    """The tensor a detector scores: the encoded record, or the network's penultimate features."""
    return inputs if getattr(layer, "reads", "penultimate") == "input" else features


def served_graph(members: list[keras.Model], detectors: list[layers.Layer] | None = None) -> keras.Model:
    """One graph over one input: the members' mean probabilities (a member alone: its own) and, with a detector per
    member, the mean of their novelty scores as a second output."""
    if len(members) == 1:
        (member,) = members
        if not detectors:
            return member
        score = detectors[0](read_by(detectors[0], member.input, penultimate(member)))
        return keras.Model(member.input, [member.output, score], name=f"{member.name}_novelty")
    inputs = keras.Input(shape=members[0].input.shape[1:], name=INPUT_NAME)
    probabilities, scores = [], []
    for i, member in enumerate(members):
        head = keras.Model(member.input, [member.output, penultimate(member)], name=f"member_{i}")
        p, features = head(inputs)
        probabilities.append(p)
        if detectors:
            scores.append(detectors[i](read_by(detectors[i], inputs, features)))
    outputs = [layers.Average(name=OUTPUT_NAME)(probabilities)]
    if detectors:
        outputs.append(layers.Average(name=NOVELTY_OUTPUT)(scores))
    return keras.Model(inputs, outputs, name=f"ensemble_{len(members)}")


@dataclass(frozen=True)
class Threshold:
    value: float
    normal_flagged: float  # the share of normal validation records above it


def threshold_for(normal_scores: np.ndarray, budget: float) -> Threshold:
    """The threshold that at most `budget` of these normal records exceed."""
    value = threshold_allowing(normal_scores, int(np.floor(budget * len(normal_scores))))
    return Threshold(value, float((normal_scores > value).mean()))


def alert_threshold(normal_scores: np.ndarray, called_attack: np.ndarray, budget: float) -> Threshold:
    """The threshold under which at most `budget` of these normal records raise an alert: those the classifier calls an
    attack use their share up first, and the detector may flag up to the rest among the ones it calls normal."""
    allowed = max(int(np.floor(budget * len(normal_scores))) - int(called_attack.sum()), 0)
    if called_attack.all():  # the classifier spent the budget on every normal record: the detector may flag none
        return threshold_for(normal_scores, 0.0)
    value = threshold_allowing(normal_scores[~called_attack], allowed)
    return Threshold(value, float((normal_scores > value).mean()))


def threshold_allowing(scores: np.ndarray, allowed: int) -> float:
    """A threshold that at most `allowed` of these scores exceed: halfway between the highest score kept and the lowest
    flagged, so float32 rounding between Keras and ONNX cannot move a validation record across it."""
    if not len(scores):
        raise ValueError("no normal validation records to set the novelty threshold on")
    ordered = np.sort(np.asarray(scores, dtype=np.float64))
    allowed = min(allowed, len(ordered) - 1)
    kept = ordered[-allowed - 1]
    # with nothing to flag: above the highest score by twice the export's parity tolerance
    first_flagged = ordered[-allowed] if allowed else kept + 4 * max(abs(kept), 1.0) * PARITY_TOLERANCE
    return float((kept + first_flagged) / 2)


@dataclass(frozen=True)
class FittedNovelty:
    """The served graph with its detector, the detector's validation threshold, and what each candidate detector
    scored on the same validation rows (the evidence behind the default method)."""

    method: str
    budget: float
    budget_of: str  # what the budget counts among normal validation records: "flagged" unknown, or "alerted"
    members: int
    model: keras.Model
    threshold: Threshold
    candidates: dict[str, dict]
    unknown_is_attack: bool = False  # a record flagged unknown is never called normal (preprocess/verdict.py)

    def info(self) -> NoveltyInfo:
        return NoveltyInfo(
            output_name=NOVELTY_OUTPUT,
            method=f"{self.method}: {METHOD_TEXT[self.method]}"
            + (f"; the mean of {self.members} networks' scores" if self.members > 1 else ""),
            threshold=self.threshold.value,
            budget=self.budget,
            budget_of=self.budget_of,
            validation_normal_flagged=self.threshold.normal_flagged,
            unknown_is_attack=self.unknown_is_attack,
        )

    def report(self) -> dict:
        return {
            "method": self.method,
            "budget": self.budget,
            "budget_of": self.budget_of,
            "threshold": self.threshold.value,
            "validation_normal_flagged": self.threshold.normal_flagged,
            "unknown_is_attack": self.unknown_is_attack,
            "validation_candidates": self.candidates,
        }


def fit_novelty(
    method: str,
    members: list[keras.Model],
    data: Encoded,
    budget: float,
    alert_budget: float | None = None,
    unknown_is_attack: bool = False,
) -> FittedNovelty:
    """Every candidate detector fitted on the training rows and thresholded on the normal validation records (at most
    `budget` of them flagged; with `alert_budget`, at most that share alerted, called attack or flagged); the chosen
    `method` is served. Candidates are compared on validation only: the share of its attack records caught
    (called attack or flagged unknown), in particular of its attack types absent from training, and the AUROC of
    the score between normal and attack records."""
    X_train, y_train = data.train
    X_val, y_val = data.validation
    classes = data.classes
    normal = classes.output.index(classes.normal)
    y_out = classes.to_output[y_val]
    subtypes = data.subtypes("validation")
    unseen = set(subtypes) - set(data.splits.train.subtypes)
    fitted, candidates = {}, {}
    for candidate in METHOD_TEXT:
        names = [NOVELTY_OUTPUT] if len(members) == 1 else [f"{NOVELTY_OUTPUT}_{i}" for i in range(len(members))]
        detectors = [detector(candidate, m, X_train, y_train, name) for m, name in zip(members, names, strict=True)]
        model = served_graph(members, detectors)
        probabilities, scores = keras_outputs(model, X_val)
        scores = scores.reshape(len(y_val)).astype(np.float64)
        is_normal = y_out == normal
        if alert_budget is None:
            threshold = threshold_for(scores[is_normal], budget)
        else:
            threshold = alert_threshold(scores[is_normal], probabilities.argmax(axis=1)[is_normal] != normal, alert_budget)
        found = alerts(y_out, probabilities.argmax(axis=1), scores > threshold.value, normal, subtypes, unseen)
        candidates[candidate] = {
            "validation_normal_flagged": threshold.normal_flagged,
            "normal_alerted": found["normal_alerted"],
            "attack_caught": found["attack_caught"],
            "unseen_attacks_caught": found.get("unseen_attacks", {}).get("caught"),
            "auroc_normal_vs_attack": float(roc_auc_score(y_out != normal, scores)) if len(set(y_out == normal)) == 2 else None,
        }
        fitted[candidate] = (model, threshold)
    model, threshold = fitted[method]
    budget, budget_of = (budget, "flagged") if alert_budget is None else (alert_budget, "alerted")
    return FittedNovelty(method, budget, budget_of, len(members), model, threshold, candidates, unknown_is_attack)
