"""The training profile (drift) and background rows (explanations) the trainer stores in metadata, and the script
that added them to the shipped models."""

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from preprocess.metadata import CategoricalFeature, NumericFeature, load_metadata
from preprocess.profile import ProfileBinner
from trainer.profile import background_rows, training_profile

# scripts/ is no package: the script is loaded from its file.
_spec = importlib.util.spec_from_file_location(
    "add_profiles", Path(__file__).resolve().parents[2] / "scripts" / "add_profiles.py"
)
add_profiles = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(add_profiles)

FEATURES = [
    NumericFeature(
        name="bytes",
        dtype="integer",
        minimum=0,
        maximum=None,
        train_min=0,
        train_max=1e6,
        fill_value=7.0,
        log1p=True,
        offset=0.0,
        scale=14.0,
    ),
    CategoricalFeature(name="proto", vocabulary=["icmp", "tcp", "udp"], closed=True),
]


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "bytes": np.concatenate([np.zeros(600), rng.integers(1, 10**6, 400)]).astype(float),
            "proto": rng.choice(["tcp", "udp", "icmp"], 1000, p=[0.7, 0.2, 0.1]),
        }
    )


def test_numeric_bins_are_the_training_deciles_with_ties_merged(frame):
    numeric, _ = training_profile(frame, FEATURES)
    positive = np.sort(frame["bytes"][frame["bytes"] > 0].to_numpy())
    # 60% zeros: the first six deciles are all 0, so one edge; the others are observed values.
    assert numeric.edges[0] == 0.0 and len(numeric.edges) == 4 and set(numeric.edges[1:]) <= set(positive)
    assert sum(numeric.proportions) == pytest.approx(1.0)
    assert numeric.proportions[0] == pytest.approx(0.6)
    assert numeric.proportions[1:] == pytest.approx([0.1] * 4, abs=0.002)  # a tenth each, up to ties at an edge


def test_categorical_shares_follow_the_vocabulary_then_other(frame):
    _, categorical = training_profile(frame, FEATURES)
    shares = frame["proto"].value_counts(normalize=True)
    assert categorical.categories == ["icmp", "tcp", "udp"]
    assert categorical.proportions == pytest.approx([shares["icmp"], shares["tcp"], shares["udp"], 0.0])


def test_missing_values_count_in_the_fill_values_bin(frame):
    profile = training_profile(frame, FEATURES)
    binner = ProfileBinner(FEATURES, profile)
    bins = binner.bins({"bytes": [None, float("nan"), float("inf"), 7], "proto": ["tcp", "tcp", "sctp", "udp"]}, 4)
    assert (bins[:, 0] == bins[3, 0]).all()
    assert bins[:, 1].tolist() == [1, 1, 3, 2]  # an unseen category falls in the bin past the vocabulary


def test_a_value_falls_in_the_bin_of_the_edges_below_it(frame):
    profile = training_profile(frame, FEATURES)
    edges = np.array(profile[0].edges)
    values = np.concatenate([edges, np.nextafter(edges, np.inf), np.nextafter(edges, -np.inf), [-1.0, 2e6]])
    bins = ProfileBinner(FEATURES, profile).bins({"bytes": values, "proto": ["tcp"] * len(values)}, len(values))
    # (-inf, e0], (e0, e1], ...: an edge belongs to the bin it closes
    assert bins[:, 0].tolist() == [(edges < v).sum() for v in values]


def test_background_rows_are_a_seeded_sample_as_json(frame):
    frame.loc[frame.index[:500], "bytes"] = np.nan
    rows = background_rows(frame, n=50, seed=3)
    assert len(rows) == 50 and rows == background_rows(frame, n=50, seed=3) != background_rows(frame, n=50, seed=4)
    assert json.loads(json.dumps(rows, allow_nan=False)) == rows  # NaN became None
    assert all(set(r) == {"bytes", "proto"} for r in rows) and any(r["bytes"] is None for r in rows)


def test_add_profiles_reproduces_the_shipped_fields(tmp_path, artifacts_dir, data_dir):
    """Run on a copy of a shipped model without the fields, the script writes back exactly what is shipped."""
    shipped = artifacts_dir / "nsl-kdd-binary-cnn"
    folder = tmp_path / shipped.name
    folder.mkdir()
    for name in ("metadata.json", "metrics.json"):
        shutil.copy(shipped / name, folder / name)
    bare = load_metadata(folder / "metadata.json").model_copy(update={"training_profile": None, "background": None})
    (folder / "metadata.json").write_text(bare.model_dump_json(indent=2))
    assert "profile of 113375 training rows" in add_profiles.add_profile(folder, data_dir, force=False)
    assert (folder / "metadata.json").read_text() == (shipped / "metadata.json").read_text()
    assert "kept" in add_profiles.add_profile(folder, data_dir, force=False)
