"""A loaded model and its predictions: raw records in, class probabilities (and a novelty score) out.

The service, the command line and the batch job all predict through `Model`, so their answers are the same.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import msgspec
import numpy as np
import onnxruntime as ort

from inference.answers import build_answers
from preprocess.metadata import ModelMetadata
from preprocess.transform import Preprocessor
from preprocess.verdict import called_classes

# Rows per onnxruntime call. The convolutions' intermediate tensors take ~16 kB per NSL-KDD row; a whole
# batch of 1,000 outgrows the CPU cache and runs about twice as slow per row as in pieces of this size
# (bench/inprocess.py measures both ways).
INFERENCE_ROWS = 128


@dataclass(frozen=True)
class Predictions:
    """One entry per record, in the order of the records."""

    classes: list[str]
    probabilities: np.ndarray  # (n, classes) float32
    best: np.ndarray  # (n,) index of the most probable class
    labels: np.ndarray  # (n,) its name
    is_attack: np.ndarray  # (n,) false only for the model's normal class
    confidence: np.ndarray  # (n,) the probability of the label
    novelty_score: np.ndarray | None = None  # (n,) float64, when the model has a novelty detector
    novelty_threshold: float | None = None
    unknown: np.ndarray | None = None  # (n,) score above the threshold: unlike anything seen in training

    def __len__(self) -> int:
        return len(self.best)

    def take(self, rows: np.ndarray) -> "Predictions":
        """The predictions of these rows (positions), in their order: answers for a few rows of a large batch."""
        return replace(
            self,
            probabilities=self.probabilities[rows],
            best=self.best[rows],
            labels=self.labels[rows],
            is_attack=self.is_attack[rows],
            confidence=self.confidence[rows],
            novelty_score=None if self.novelty_score is None else self.novelty_score[rows],
            unknown=None if self.unknown is None else self.unknown[rows],
        )

    def answer_structs(self) -> list[msgspec.Struct]:
        """Each record's answer (format in inference/answers.py), ready for msgspec to encode as JSON."""
        return build_answers(self)

    def answers(self) -> list[dict[str, Any]]:
        """Each record's answer as plain data: dicts, lists, str, float and bool."""
        return msgspec.to_builtins(self.answer_structs())


class Model:
    """A verified model ready to predict: its metadata, the transform built from it and its onnxruntime session."""

    def __init__(self, meta: ModelMetadata, session: ort.InferenceSession):
        self.meta = meta
        self.preprocessor = Preprocessor(meta)
        self.session = session
        self.classes = list(meta.classes)
        self._attack = np.array([c != meta.normal_class for c in meta.classes])
        self._labels = np.array(meta.classes)
        self._normal = self.classes.index(meta.normal_class)
        self._unknown_is_attack = bool(meta.novelty and meta.novelty.unknown_is_attack)
        self._outputs = [meta.onnx.output_name] + ([meta.novelty.output_name] if meta.novelty else [])

    @property
    def id(self) -> str:
        return self.meta.model_id

    @property
    def dataset(self) -> str:
        return self.meta.dataset

    def predict_records(self, records: Sequence[Mapping[str, Any]]) -> Predictions:
        """Records keyed by the dataset's column names; a missing key or None counts as a missing value."""
        return self.predict_encoded(self.preprocessor.transform(records))

    def predict_columns(self, columns: Mapping[str, Sequence[Any] | np.ndarray], n_rows: int) -> Predictions:
        """Column name -> that column's `n_rows` values (a record batch already in columns: no per-record work)."""
        return self.predict_encoded(self.preprocessor.transform_columns(columns, n_rows))

    def predict_encoded(self, encoded: np.ndarray) -> Predictions:
        """Rows already encoded by this model's preprocessor."""
        probabilities, *novelty = self.run(encoded)
        n, unknown, predictions = len(probabilities), None, {}
        if novelty:
            # Compared in float64, as the score is reported: float32 rounding must not flip a score that prints above it.
            score = novelty[0].reshape(n).astype(np.float64)
            threshold = self.meta.novelty.threshold
            unknown = score > threshold
            predictions = {"novelty_score": score, "novelty_threshold": threshold, "unknown": unknown}
        best = called_classes(probabilities, self._normal, unknown, self._unknown_is_attack)
        return Predictions(
            classes=self.classes,
            probabilities=probabilities,
            best=best,
            labels=self._labels[best],
            is_attack=self._attack[best],
            confidence=probabilities[np.arange(n), best],
            **predictions,
        )

    def run(self, encoded: np.ndarray) -> list[np.ndarray]:
        """The model's outputs (probabilities, then the novelty score if any), computed INFERENCE_ROWS rows at a time."""
        if not len(encoded):  # answered here: onnxruntime aborts the whole process on an empty batch for the LSTM graphs
            return [np.zeros((0, len(self.classes)), np.float32)] + [np.zeros(0, np.float32)] * (len(self._outputs) - 1)
        name = self.meta.onnx.input_name
        parts = [
            self.session.run(self._outputs, {name: encoded[i : i + INFERENCE_ROWS]})
            for i in range(0, len(encoded), INFERENCE_ROWS)
        ]
        if len(parts) == 1:
            return parts[0]
        return [np.concatenate(outputs) for outputs in zip(*parts, strict=True)]
