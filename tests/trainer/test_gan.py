"""The GAN oversampler on a few thousand real NSL-KDD rows with a tiny training budget."""

import json
from collections import Counter

import numpy as np
import pytest

from trainer.gan import FeatureLayout, GanConfig, gan_oversample


def test_each_class_below_target_reaches_it_exactly(nsl_sample, gan_run):
    real = Counter(nsl_sample.y.tolist())
    new = Counter(gan_run.y_new.tolist())
    assert new == {"pod": 270, "ipsweep": 200}
    for cls in new:
        assert real[cls] + new[cls] == gan_run.targets[cls]
    assert gan_run.report["generated"] == dict(new)
    assert "normal" not in new  # already above its target


def test_class_below_min_class_rows_is_skipped_and_reported(nsl_sample, gan_run):
    assert gan_run.report["skipped_small_classes"] == {"guess_passwd": 10}
    assert "guess_passwd" not in set(gan_run.y_new.tolist())


def test_rows_are_finite_float32_with_the_input_width(nsl_sample, gan_run):
    assert gan_run.X_new.dtype == np.float32
    assert gan_run.X_new.shape == (len(gan_run.y_new), nsl_sample.X.shape[1])
    assert np.isfinite(gan_run.X_new).all()


def test_every_onehot_group_is_exactly_one_hot(nsl_sample, gan_run):
    for group in nsl_sample.layout.onehot_groups:
        block = gan_run.X_new[:, group]
        assert np.isin(block, (0.0, 1.0)).all()
        assert (block.sum(axis=1) == 1.0).all()


def test_numeric_values_stay_within_the_class_real_range(nsl_sample, gan_run):
    numeric = nsl_sample.layout.numeric
    for cls in set(gan_run.y_new.tolist()):
        real = nsl_sample.X[nsl_sample.y == cls][:, numeric]
        synthetic = gan_run.X_new[gan_run.y_new == cls][:, numeric]
        assert (synthetic >= real.min(axis=0)).all() and (synthetic <= real.max(axis=0)).all()


def test_report_is_json_and_respects_the_budget(gan_run):
    report = json.loads(json.dumps(gan_run.report))
    assert set(report) == {"trained_seconds", "epochs_run", "final_d_loss", "final_g_loss", "generated", "skipped_small_classes"}
    assert 1 <= report["epochs_run"] <= gan_run.config.epochs
    assert np.isfinite([report["trained_seconds"], report["final_d_loss"], report["final_g_loss"]]).all()


def test_same_seed_gives_identical_rows(nsl_sample, gan_run):
    X_again, y_again, _ = gan_oversample(nsl_sample.X, nsl_sample.y, gan_run.targets, nsl_sample.layout, gan_run.config)
    np.testing.assert_array_equal(X_again, gan_run.X_new)
    np.testing.assert_array_equal(y_again, gan_run.y_new)


def test_nothing_to_generate_returns_empty_arrays_without_training(nsl_sample):
    X_new, y_new, report = gan_oversample(
        nsl_sample.X, nsl_sample.y, {"normal": 5, "guess_passwd": 10}, nsl_sample.layout, GanConfig()
    )
    assert X_new.shape == (0, nsl_sample.X.shape[1]) and X_new.dtype == np.float32
    assert len(y_new) == 0
    assert report["epochs_run"] == 0 and report["generated"] == {} and report["skipped_small_classes"] == {}


def test_layout_must_cover_every_column_once(nsl_sample):
    layout = nsl_sample.layout
    missing_column = FeatureLayout(layout.numeric[1:], layout.onehot_groups)
    with pytest.raises(ValueError, match="exactly once"):
        gan_oversample(nsl_sample.X, nsl_sample.y, {"pod": 100}, missing_column, GanConfig())
