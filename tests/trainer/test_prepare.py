"""The balanced-set cache: an experiment's cells that differ only in architecture or loss resample once."""

import numpy as np

from trainer.config import TrainConfig
from trainer.prepare import balance_training, balanced_key, classes_of, encode, load_splits


def _prepared(data_dir, cache, **changes):
    cfg = TrainConfig(
        **{
            "dataset": "nsl-kdd",
            "task": "multiclass",
            "architecture": "cnn",
            "balance": "smote",
            "limit_rows": 2000,
            "data_dir": data_dir,
            "balanced_cache": cache,
        }
        | changes
    )
    splits = load_splits(cfg)
    return cfg, encode(cfg, splits, classes_of(cfg, splits))


def test_a_balanced_set_is_reused_by_runs_that_differ_in_architecture_or_loss_only(data_dir, tmp_path):
    cfg, data = _prepared(data_dir, tmp_path)
    X, y, report = balance_training(cfg, data)
    assert "cached_from" not in report and len(list(tmp_path.glob("*.npz"))) == 1

    other_cfg, other_data = _prepared(data_dir, tmp_path, architecture="cnn-lstm", loss="focal")
    X2, y2, report2 = balance_training(other_cfg, other_data)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)
    assert report2["cached_from"] == str(next(tmp_path.glob("*.npz")))
    assert report2["counts_after"] == report["counts_after"] and report2["resampled_seconds"] == report["seconds"]


def test_the_key_changes_with_the_split_the_balancing_and_the_sample(data_dir, tmp_path):
    keys = {balanced_key(*_prepared(data_dir, tmp_path))}
    for changes in (
        {"balance": "ros"},
        {"seed": 1},
        {"validation": "random"},
        {"limit_rows": 2500},
        {"balance_target": 0.5},
        {"balance_cap": 0.5},
    ):
        keys.add(balanced_key(*_prepared(data_dir, tmp_path, **changes)))
    assert len(keys) == 7
    assert balanced_key(*_prepared(data_dir, tmp_path, loss="focal", architecture="cnn-lstm")) in keys
