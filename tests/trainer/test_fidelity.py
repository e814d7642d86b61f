"""The fidelity report on real NSL-KDD rows: shape and ranges, and that it tells real-like rows from noise."""

import json

import numpy as np

from trainer.fidelity import fidelity_report


def _report(sample, X_syn, y_syn):
    return fidelity_report(sample.X, sample.y, X_syn, y_syn, sample.layout, sample.X_test, sample.y_test, seed=0)


def test_report_on_gan_rows_has_every_key_in_range(nsl_sample, gan_run):
    report = _report(nsl_sample, gan_run.X_new, gan_run.y_new)
    assert json.loads(json.dumps(report)) == report

    assert set(report["per_class"]) == {"ipsweep", "pod"}
    for cls, metrics in report["per_class"].items():
        assert metrics["n_real"] == int((nsl_sample.y == cls).sum())
        assert metrics["n_synthetic"] == int((gan_run.y_new == cls).sum())
        for key in ("ks_mean", "ks_max", "wasserstein_mean", "tv_mean", "tv_max"):
            assert 0.0 <= metrics[key] <= 1.0, key
        assert metrics["ks_mean"] <= metrics["ks_max"] and metrics["tv_mean"] <= metrics["tv_max"]

    tstr = report["tstr"]
    assert tstr["train_rows_per_class"]["pod"] == 270  # every synthetic pod row; the real arm repeats the 30 real ones
    assert tstr["resampled_with_replacement"] == ["pod"]
    for arm in ("synthetic", "real"):
        assert 0.0 <= tstr[arm]["accuracy"] <= 1.0
        assert 0.0 <= tstr[arm]["macro_recall"] <= 1.0
        assert set(tstr[arm]["recall"]) == {"ipsweep", "pod"}


def test_shuffled_real_rows_score_near_zero_and_noise_scores_high(nsl_sample):
    rng = np.random.default_rng(0)
    classes = ["ipsweep", "satan"]
    mask = np.isin(nsl_sample.y, classes)
    order = rng.permutation(int(mask.sum()))
    real_like = _report(nsl_sample, nsl_sample.X[mask][order], nsl_sample.y[mask][order])

    noise = rng.uniform(size=(int(mask.sum()), nsl_sample.X.shape[1])).astype(np.float32)
    for group in nsl_sample.layout.onehot_groups:
        noise[:, group] = np.eye(len(group), dtype=np.float32)[rng.integers(len(group), size=len(noise))]
    noisy = _report(nsl_sample, noise, nsl_sample.y[mask])

    for cls in classes:
        assert real_like["per_class"][cls]["ks_max"] == 0.0
        assert real_like["per_class"][cls]["tv_max"] == 0.0
        assert noisy["per_class"][cls]["ks_mean"] > 0.5
        assert noisy["per_class"][cls]["tv_mean"] > 0.3
    assert real_like["tstr"]["synthetic"]["macro_recall"] > noisy["tstr"]["synthetic"]["macro_recall"]
