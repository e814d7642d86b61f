"""Apply a model's metadata to raw records with numpy alone (no pandas, scikit-learn or TensorFlow)."""

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from preprocess.metadata import CategoricalFeature, ModelMetadata, NumericFeature


class Preprocessor:
    """Everything per-feature is turned into arrays and lookup tables once, so a call does no setup."""

    def __init__(self, meta: ModelMetadata):
        position = {name: i for i, name in enumerate(meta.encoded_features)}
        numeric = [f for f in meta.features if isinstance(f, NumericFeature)]
        self.width = len(meta.encoded_features)
        self.numeric_names = [f.name for f in numeric]
        self.numeric_positions = np.array([position[f.name] for f in numeric], dtype=np.intp)
        self.fill = np.array([f.fill_value for f in numeric])
        self.log_mask = np.array([f.log1p for f in numeric])
        self.offset = np.array([f.offset for f in numeric])
        self.scale = np.array([f.scale for f in numeric])
        # name -> {category string: encoded column}
        self.categorical = {
            f.name: {value: position[f"{f.name}={value}"] for value in f.vocabulary}
            for f in meta.features
            if isinstance(f, CategoricalFeature)
        }

    def transform(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Encode raw records (dicts keyed by the dataset's column names); missing keys count as missing values."""
        columns = {name: [r.get(name) for r in records] for name in [*self.numeric_names, *self.categorical]}
        return self.transform_columns(columns, len(records))

    def transform_columns(self, columns: Mapping[str, Sequence[Any]], n_rows: int) -> np.ndarray:
        out = np.zeros((n_rows, self.width), dtype=np.float32)
        if self.numeric_names:
            raw = np.array([columns[name] for name in self.numeric_names], dtype=np.float64).T
            raw = raw.reshape(n_rows, len(self.numeric_names))
            raw = np.where(np.isfinite(raw), raw, self.fill)
            raw = np.where(self.log_mask, np.log1p(np.maximum(raw, 0.0)), raw)
            out[:, self.numeric_positions] = np.clip((raw - self.offset) / self.scale, 0.0, 1.0)
        rows = np.arange(n_rows)
        for name, lookup in self.categorical.items():
            cols = np.array([lookup.get(str(v), -1) for v in columns[name]], dtype=np.intp)
            known = cols >= 0
            out[rows[known], cols[known]] = 1.0
        return out
