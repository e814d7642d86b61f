"""Fit the input encoding on the training split only, with scikit-learn, and describe it as metadata.

Rules (stated once, recorded per feature in the metadata):
- missing, NaN and infinite numeric values become the training median;
- a non-negative numeric column whose training maximum exceeds LOG_THRESHOLD (bytes, durations,
  counts) is log1p-scaled, since its values span several orders of magnitude;
- numeric columns are then min-max scaled to [0, 1] and clipped there, so unseen extremes saturate;
  or, with scaling "quantile", every numeric column becomes its training quantile level instead (QUANTILE_LEVELS
  levels; tied quantiles share their levels' mean), which keeps apart values min-max squeezes together;
- categorical columns are one-hot encoded; a category unseen in training encodes as all zeros;
- a column with one value throughout the training split (NSL-KDD's num_outbound_cmds) is not encoded: the network
  could learn nothing from it, and an unseen value would reach untrained weights. It is listed in `constant`, and the
  model's metadata lists it among the ignored columns, so the service still accepts it.
The service re-applies this from the metadata with numpy (`preprocess.Preprocessor`);
tests check both give the same matrix.
"""

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, OneHotEncoder

from preprocess import CategoricalFeature, NumericFeature
from preprocess.defaults import SCALINGS
from preprocess.metadata import QuantileKnots
from preprocess.transform import QuantileLookup
from trainer.datasets import DatasetSpec

LOG_THRESHOLD = 100.0
QUANTILE_LEVELS = 1001  # 0, 0.001, ..., 1


def _finite(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.replace([np.inf, -np.inf], np.nan)


def quantile_knots(values: np.ndarray) -> QuantileKnots:
    """The training quantiles at QUANTILE_LEVELS evenly spaced levels; a value many quantiles share (a column that is
    mostly 0) is one knot at the mean of their levels, so the knots increase strictly."""
    levels = np.linspace(0.0, 1.0, QUANTILE_LEVELS)
    knots, which = np.unique(np.quantile(values, levels), return_inverse=True)
    return QuantileKnots(values=knots.tolist(), levels=(np.bincount(which, levels) / np.bincount(which)).tolist())


class QuantileScaler(TransformerMixin, BaseEstimator):
    """Each column to its training quantile level (`quantile_knots`), looked up by the service's own code."""

    def fit(self, X, y=None):
        self.knots_ = [quantile_knots(column) for column in np.asarray(X, dtype=np.float64).T]
        self.lookup_ = QuantileLookup(self.knots_)
        return self

    def transform(self, X):
        return self.lookup_(np.asarray(X, dtype=np.float64))


def _numeric_pipeline(scaling: str):
    """scaling: "log" (log1p, then min-max), "linear" (min-max) or "quantile"."""
    steps = [FunctionTransformer(_finite), SimpleImputer(strategy="median")]
    if scaling == "log":
        steps.append(FunctionTransformer(np.log1p))
    return make_pipeline(*steps, QuantileScaler() if scaling == "quantile" else MinMaxScaler(clip=True))


class Encoder:
    """The fitted transform plus its description; `features` and `encoded_features` go into metadata."""

    def __init__(self, spec: DatasetSpec, train: pd.DataFrame, scaling: str = SCALINGS[0]):
        if scaling not in SCALINGS:
            raise ValueError(f"unknown scaling {scaling!r}; choose from {', '.join(SCALINGS)}")
        self.constant = [c for c in spec.features if train[c].nunique(dropna=False) <= 1]
        used = [c for c in spec.features if c not in self.constant]
        numeric = [c for c in used if c not in spec.categorical]
        categorical = [c for c in used if c in spec.categorical]
        values = _finite(train[numeric].astype(float))
        wide = [c for c in numeric if values[c].min() >= 0 and values[c].max() > LOG_THRESHOLD]
        if scaling == "quantile":
            groups = {"quantile": numeric}
        else:
            groups = {"log": wide, "linear": [c for c in numeric if c not in wide]}
        groups = {name: columns for name, columns in groups.items() if columns}

        self.columns = ColumnTransformer(
            [
                *((name, _numeric_pipeline(name), columns) for name, columns in groups.items()),
                ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float32), categorical),
            ],
            sparse_threshold=0.0,
        )
        self.columns.fit(self._as_input(train, categorical))
        self._categorical = categorical

        fitted = {}
        for group, columns in groups.items():
            pipe = self.columns.named_transformers_[group]
            imputer, scaler = pipe.steps[1][1], pipe.steps[-1][1]
            quantile = group == "quantile"
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
                    offset=0.0 if quantile else float(scaler.data_min_[i]),
                    scale=1.0 if quantile or scaler.data_range_[i] <= 0 else float(scaler.data_range_[i]),
                    quantiles=scaler.knots_[i] if quantile else None,
                )
        onehot = self.columns.named_transformers_["onehot"] if categorical else None
        for i, c in enumerate(categorical):
            fitted[c] = CategoricalFeature(name=c, vocabulary=[str(v) for v in onehot.categories_[i]], closed=spec.categorical[c])

        self.features = [fitted[c] for c in used]
        onehot_columns = [f"{c}={v}" for i, c in enumerate(categorical) for v in onehot.categories_[i]]
        self.encoded_features = [c for columns in groups.values() for c in columns] + onehot_columns

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
