from collections import Counter

import numpy as np
import pytest

from trainer.balance import balance
from trainer.balance_gan import split_deficits


def test_hybrid_shares_add_up_to_each_class_deficit():
    deficits = {"R2L": 1001, "U2R": 7, "Probe": 0}
    parts = split_deficits(deficits, {"ros": 0.25, "smote": 0.25, "adasyn": 0.25, "gan": 0.25})
    for cls, deficit in deficits.items():
        assert sum(part[cls] for part in parts.values()) == deficit
    assert parts["ros"]["R2L"] == 250 and parts["gan"]["R2L"] == 251


@pytest.mark.parametrize("shares", [{"ros": 0.5, "smote": 0.6}, {"ros": 1.5, "smote": -0.5}])
def test_hybrid_shares_that_do_not_sum_to_one_are_refused(shares):
    with pytest.raises(ValueError, match="sum to 1"):
        split_deficits({"a": 10}, shares)


def test_hybrid_on_real_rows_mixes_every_method_and_reports_the_gan_fallback(nsl_sample):
    X, y = nsl_sample.X, nsl_sample.y
    X_out, y_out, report = balance(
        X,
        y,
        "hybrid",
        seed=0,
        target=0.5,
        layout_groups=nsl_sample.layout.onehot_groups,
        gan_epochs=3,
        gan_seconds=15,
        holdout=(nsl_sample.X_test, nsl_sample.y_test),
    )
    counts = Counter(y_out.tolist())
    assert counts["normal"] == 1200
    assert counts["pod"] == pytest.approx(600, abs=15)  # ADASYN's share is approximate
    assert set(report["hybrid_added"]) == {"ros", "smote", "adasyn", "gan"}
    assert report["gan"]["generated"]["pod"] > 0
    assert report["fallbacks"]["guess_passwd"].startswith("smote")  # 10 rows: below the GAN's minimum
    assert "fidelity" in report["gan"] and report["gan"]["fidelity"]["per_class"]["pod"]["ks_mean"] <= 1
    np.testing.assert_array_equal(X_out[: len(X)], X)
