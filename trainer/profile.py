"""What the service needs to know about the training rows: a per-feature histogram (drift) and a few raw rows
(the background of explanations). Both come from the training split before balancing, which is what real traffic
looked like; balanced or synthetic rows would describe a population the service never receives."""

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from preprocess.metadata import CategoricalFeature, Feature, FeatureProfile
from preprocess.profile import ProfileBinner

# Ten bins of about a tenth of the training rows each; tied values (a column that is mostly 0) merge bins.
QUANTILES = np.linspace(0.1, 0.9, 9)
BACKGROUND_ROWS = 50


def training_profile(features_frame: pd.DataFrame, meta_features: Sequence[Feature]) -> list[FeatureProfile]:
    """Numeric features: inner edges at the training deciles (distinct ones only); categorical: one bin per
    vocabulary value, then one for any other value. Proportions are the training rows' shares per bin."""
    layout = []
    for feature in meta_features:
        if isinstance(feature, CategoricalFeature):
            layout.append(
                FeatureProfile(
                    name=feature.name,
                    categories=feature.vocabulary,
                    proportions=[0.0] * (len(feature.vocabulary) + 1),
                )
            )
            continue
        values = pd.to_numeric(features_frame[feature.name], errors="coerce").to_numpy(dtype=np.float64)
        values = np.where(np.isfinite(values), values, feature.fill_value)
        edges = np.unique(np.quantile(values, QUANTILES, method="inverted_cdf")).tolist()  # observed values, not interpolations
        layout.append(FeatureProfile(name=feature.name, edges=edges, proportions=[0.0] * (len(edges) + 1)))
    binner = ProfileBinner(meta_features, layout)
    columns = {name: features_frame[name].tolist() for name in binner.names}
    shares = binner.proportions(binner.bins(columns, len(features_frame)))
    return [p.model_copy(update={"proportions": s.tolist()}) for p, s in zip(layout, shares, strict=True)]


def background_rows(frame: pd.DataFrame, n: int = BACKGROUND_ROWS, seed: int = 0) -> list[dict[str, Any]]:
    """`n` training rows drawn at random (so classes keep their training shares), every column of `frame` as
    the JSON a client would send: pass the feature columns only."""
    sample = frame.sample(n=min(n, len(frame)), random_state=seed)
    return [{k: _plain(v) for k, v in row.items()} for row in sample.to_dict("records")]


def _plain(value: Any) -> Any:
    """numpy scalars -> Python, and a missing value -> None, so rows serialise as JSON."""
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and not np.isfinite(value) else value
