"""Fit the input encoding on the training split only, with scikit-learn, and describe it as metadata.

Rules (stated once, recorded per feature in the metadata):
- missing, NaN and infinite numeric values become the training median;
- a non-negative numeric column whose training maximum exceeds LOG_THRESHOLD (bytes, durations,
  counts) is log1p-scaled, since its values span several orders of magnitude;
- numeric columns are then min-max scaled to [0, 1] and clipped there, so unseen extremes saturate;
- categorical columns are one-hot encoded; a category unseen in training encodes as all zeros;
- a column with one value throughout the training split (NSL-KDD's num_outbound_cmds) is not encoded: the network
  could learn nothing from it, and an unseen value would reach untrained weights. It is listed in `constant`, and the
  model's metadata lists it among the ignored columns, so the service still accepts it.
The service re-applies this from the metadata with numpy (`preprocess.Preprocessor`);
tests check both give the same matrix.
"""

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, OneHotEncoder

from preprocess import CategoricalFeature, NumericFeature
from trainer.datasets import DatasetSpec

LOG_THRESHOLD = 100.0


def _finite(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.replace([np.inf, -np.inf], np.nan)


def _numeric_pipeline(log: bool):
    steps = [FunctionTransformer(_finite), SimpleImputer(strategy="median")]
    if log:
        steps.append(FunctionTransformer(np.log1p))
    return make_pipeline(*steps, MinMaxScaler(clip=True))


class Encoder:
    """The fitted transform plus its description; `features` and `encoded_features` go into metadata."""

    def __init__(self, spec: DatasetSpec, train: pd.DataFrame):
        self.constant = [c for c in spec.features if train[c].nunique(dropna=False) <= 1]
        used = [c for c in spec.features if c not in self.constant]
        numeric = [c for c in used if c not in spec.categorical]
        categorical = [c for c in used if c in spec.categorical]
        values = _finite(train[numeric].astype(float))
        log_columns = [c for c in numeric if values[c].min() >= 0 and values[c].max() > LOG_THRESHOLD]
        linear_columns = [c for c in numeric if c not in log_columns]

        self.columns = ColumnTransformer(
            [
                ("log", _numeric_pipeline(log=True), log_columns),
                ("linear", _numeric_pipeline(log=False), linear_columns),
                ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float32), categorical),
            ],
            sparse_threshold=0.0,
        )
        self.columns.fit(self._as_input(train, categorical))
        self._categorical = categorical

        fitted = {}
        for group, columns in (("log", log_columns), ("linear", linear_columns)):
            if not columns:
                continue
            pipe = self.columns.named_transformers_[group]
            imputer, scaler = pipe.steps[1][1], pipe.steps[-1][1]
            for i, c in enumerate(columns):
                fitted[c] = NumericFeature(
                    name=c,
                    dtype="integer" if pd.api.types.is_integer_dtype(train[c]) else "number",
                    minimum=0.0,  # every numeric feature of these datasets is a count, size, time or rate
                    maximum=1.0 if c in spec.bounded_01 else None,
                    train_min=float(values[c].min()),
                    train_max=float(values[c].max()),
                    fill_value=float(imputer.statistics_[i]),
                    log1p=group == "log",
                    offset=float(scaler.data_min_[i]),
                    scale=float(scaler.data_range_[i]) if scaler.data_range_[i] > 0 else 1.0,
                )
        onehot = self.columns.named_transformers_["onehot"] if categorical else None
        for i, c in enumerate(categorical):
            fitted[c] = CategoricalFeature(name=c, vocabulary=[str(v) for v in onehot.categories_[i]], closed=spec.categorical[c])

        self.features = [fitted[c] for c in used]
        self.encoded_features = (
            log_columns + linear_columns + [f"{c}={v}" for i, c in enumerate(categorical) for v in onehot.categories_[i]]
        )

    @staticmethod
    def _as_input(frame: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
        frame = frame.copy()
        frame[categorical] = frame[categorical].astype(str)
        return frame

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        return self.columns.transform(self._as_input(frame, self._categorical)).astype(np.float32)

    def onehot_groups(self) -> list[list[int]]:
        """Encoded column indices of each categorical feature's one-hot group."""
        position = {name: i for i, name in enumerate(self.encoded_features)}
        return [[position[f"{f.name}={v}"] for v in f.vocabulary] for f in self.features if isinstance(f, CategoricalFeature)]
