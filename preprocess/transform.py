"""Apply a model's metadata to raw records with numpy alone (no pandas, scikit-learn or TensorFlow)."""

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from preprocess.metadata import CategoricalFeature, ModelMetadata, NumericFeature, QuantileKnots


class QuantileLookup:
    """Quantile-scaled columns to their training quantile levels, all columns in one `np.interp` call.

    A value is clipped to its column's knots and interpolated linearly in asinh(value) between them (asinh, monotone,
    keeps a wide column's close values apart when its range is mapped to one unit). Column j's range maps onto
    [2j, 2j + 1], so the columns' segments of the one sorted knot array never overlap. The trainer encodes with this
    class too, so both sides compute the same numbers.
    """

    def __init__(self, knots: list[QuantileKnots]):
        self.low = np.array([k.values[0] for k in knots])
        self.high = np.array([k.values[-1] for k in knots])
        self.asinh_low, asinh_high = np.arcsinh(self.low), np.arcsinh(self.high)
        self.asinh_span = asinh_high - self.asinh_low
        self.base = 2.0 * np.arange(len(knots))
        self.xp = np.concatenate([self._positions(np.array(k.values), j) for j, k in enumerate(knots)])
        self.fp = np.concatenate([k.levels for k in knots])

    def _positions(self, values: np.ndarray, j) -> np.ndarray:
        return self.base[j] + (np.arcsinh(values) - self.asinh_low[j]) / self.asinh_span[j]

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        """raw: (rows, columns) in the knots' column order -> their quantile levels."""
        position = self.base + (np.arcsinh(np.clip(raw, self.low, self.high)) - self.asinh_low) / self.asinh_span
        return np.interp(position, self.xp, self.fp)


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
        quantile = [i for i, f in enumerate(numeric) if f.quantiles is not None]
        self.quantile_columns = np.array(quantile, dtype=np.intp)
        self.quantile = QuantileLookup([numeric[i].quantiles for i in quantile]) if quantile else None
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
            scaled = np.where(self.log_mask, np.log1p(np.maximum(raw, 0.0)), raw)
            scaled = np.clip((scaled - self.offset) / self.scale, 0.0, 1.0)
            if self.quantile is not None:
                scaled[:, self.quantile_columns] = self.quantile(raw[:, self.quantile_columns])
            out[:, self.numeric_positions] = scaled
        rows = np.arange(n_rows)
        for name, lookup in self.categorical.items():
            cols = np.array([lookup.get(str(v), -1) for v in columns[name]], dtype=np.intp)
            known = cols >= 0
            out[rows[known], cols[known]] = 1.0
        return out
