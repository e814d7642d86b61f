"""Bin raw feature values as a model's training profile defines them (`FeatureProfile`).

The trainer counts its training rows per bin with this and the service counts the records it receives with it,
so both sides of a drift comparison bin by the same rule.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from preprocess.metadata import Feature, FeatureProfile, NumericFeature


class ProfileBinner:
    """Bin indices of raw columns, one column per profiled feature, in `profiles` order.

    Numeric bins are (-inf, e0], (e0, e1], ..., (e_last, inf), so a value's bin is the number of edges below it;
    missing and non-finite values take the fill value's bin. Categorical: the category's position, else one
    bin past the last category."""

    def __init__(self, features: Sequence[Feature], profiles: Sequence[FeatureProfile]):
        by_name = {f.name: f for f in features}
        self.names = [p.name for p in profiles]
        self.sizes = np.array([len(p.proportions) for p in profiles])
        numeric = [(i, p, by_name[p.name]) for i, p in enumerate(profiles) if p.edges is not None]
        self.numeric_positions = np.array([i for i, _, _ in numeric], dtype=np.intp)
        self.numeric_names = [p.name for _, p, _ in numeric]
        self.fill = np.array([f.fill_value if isinstance(f, NumericFeature) else np.nan for _, _, f in numeric])
        self.edges = [np.array(p.edges, dtype=np.float64) for _, p, _ in numeric]
        self.categorical = [
            (i, p.name, {c: k for k, c in enumerate(p.categories)}, len(p.categories))
            for i, p in enumerate(profiles)
            if p.categories is not None
        ]

    def bins(self, columns: Mapping[str, Sequence[Any]], n_rows: int) -> np.ndarray:
        out = np.empty((n_rows, len(self.names)), dtype=np.intp)
        if self.numeric_names:
            raw = np.array([columns[name] for name in self.numeric_names], dtype=np.float64).reshape(-1, n_rows)
            raw = np.where(np.isfinite(raw), raw, self.fill[:, None])
            for position, edges, values in zip(self.numeric_positions, self.edges, raw, strict=True):
                out[:, position] = np.searchsorted(edges, values, side="left")  # the number of edges below each value
        for position, name, lookup, other in self.categorical:
            out[:, position] = [lookup.get(str(v), other) for v in columns[name]]
        return out

    def proportions(self, bins: np.ndarray) -> list[np.ndarray]:
        """Each feature's share of rows per bin, from a (rows, features) matrix of bin indices."""
        total = max(len(bins), 1)
        return [np.bincount(bins[:, i], minlength=size) / total for i, size in enumerate(self.sizes)]
