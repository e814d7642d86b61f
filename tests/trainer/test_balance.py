from collections import Counter

import numpy as np
import pytest

from trainer.__main__ import parser
from trainer.balance import balance
from trainer.samplers import targets_for


@pytest.fixture
def skewed():
    """Real-looking imbalance: a big class, a medium one and a class of exactly 2 rows."""
    rng = np.random.default_rng(0)
    X = rng.random((212, 6)).astype(np.float32)
    y = np.array(["normal"] * 160 + ["DoS"] * 50 + ["U2R"] * 2)
    X[-2:] += 2.0  # keep U2R apart so synthetic rows can be told from the others
    return X, y


@pytest.mark.parametrize("method", ["ros", "smote", "adasyn"])
def test_every_method_fills_classes_to_the_target_and_survives_a_class_of_two(skewed, method):
    X, y = skewed
    X_out, y_out, report = balance(X, y, method, seed=0, target=1.0)
    counts = Counter(y_out.tolist())
    assert counts["normal"] == 160
    assert counts["U2R"] == 160
    assert counts["DoS"] >= 150  # ADASYN generates approximately the requested number
    np.testing.assert_array_equal(X_out[: len(X)], X)  # the real rows come first, untouched
    assert report["counts_before"] == {"DoS": 50, "U2R": 2, "normal": 160}
    assert report["counts_after"] == dict(sorted(counts.items()))


def test_smote_on_a_class_of_two_interpolates_between_its_two_rows(skewed):
    X, y = skewed
    X_out, y_out, _ = balance(X, y, "smote", seed=0)
    synthetic = X_out[len(X) :][y_out[len(X) :] == "U2R"]
    low, high = X[-2:].min(axis=0), X[-2:].max(axis=0)
    assert np.all(synthetic >= low - 1e-6) and np.all(synthetic <= high + 1e-6)


def test_a_class_of_one_falls_back_to_random_oversampling_and_says_so():
    X = np.arange(40, dtype=np.float32).reshape(20, 2)
    y = np.array(["a"] * 19 + ["b"])
    X_out, y_out, report = balance(X, y, "smote", seed=1)
    assert Counter(y_out.tolist())["b"] == 19
    assert np.all(X_out[y_out == "b"] == X[-1])
    assert report["fallbacks"]["b"].startswith("ros")


def test_adasyn_without_majority_neighbours_falls_back_to_smote():
    # The minority class sits far from the majority: ADASYN finds no majority neighbour and refuses.
    X = np.concatenate([np.zeros((30, 2)), np.full((6, 2), 100.0) + np.arange(12).reshape(6, 2)]).astype(np.float32)
    y = np.array(["big"] * 30 + ["small"] * 6)
    _, y_out, report = balance(X, y, "adasyn", seed=0)
    assert Counter(y_out.tolist())["small"] == 30
    assert report["fallbacks"]["small"].startswith("smote")


def test_none_changes_nothing_and_partial_target(skewed):
    X, y = skewed
    X_out, y_out, _ = balance(X, y, "none", seed=0)
    assert X_out is X and y_out is y
    assert targets_for(y, 0.5) == {"normal": 160, "DoS": 80, "U2R": 80}


def test_unknown_method_is_refused(skewed):
    with pytest.raises(ValueError, match="unknown balancing method 'magic'"):
        balance(*skewed, "magic", seed=0)


@pytest.mark.parametrize("method", ["ros", "smote"])
def test_balancing_by_subtype_shares_each_class_target_equally_and_samples_each_subtype_from_its_own_rows(method):
    rng = np.random.default_rng(1)
    X = rng.random((140, 3)).astype(np.float32)
    y = np.array(["normal"] * 100 + ["R2L"] * 40)
    subtypes = np.array(["normal"] * 100 + ["warezclient"] * 36 + ["guess_passwd"] * 4)
    X[-4:] += 5.0  # guess_passwd's rows apart from the others

    X_out, y_out, report = balance(X, y, method, seed=0, target=1.0, subtypes=subtypes)

    assert report["by"] == "subtype"
    assert report["subtype_counts_after"] == {"guess_passwd": 50, "normal": 100, "warezclient": 50}
    assert Counter(y_out.tolist()) == {"normal": 100, "R2L": 100}  # new rows carry their subtype's family
    new = X_out[len(X) :]
    rare = new[(new >= 5.0).all(axis=1)]
    assert len(rare) == 46  # guess_passwd's 46 new rows all come from its 4 rows, none from warezclient's
    assert np.all(rare >= X[-4:].min(axis=0) - 1e-6) and np.all(rare <= X[-4:].max(axis=0) + 1e-6)


def test_balancing_by_subtype_is_refused_for_the_gan(skewed):
    X, y = skewed
    with pytest.raises(ValueError, match="by subtype works with"):
        balance(X, y, "gan", seed=0, subtypes=y)


def test_a_cap_under_samples_the_largest_classes_first_and_the_target_follows_the_capped_majority(skewed):
    X, y = skewed  # normal 160, DoS 50, U2R 2
    X_out, y_out, report = balance(X, y, "ros", seed=0, cap=0.25)
    assert report["counts_before"] == {"DoS": 50, "U2R": 2, "normal": 160}
    assert report["counts_capped"] == {"DoS": 40, "U2R": 2, "normal": 40} and report["cap"] == 0.25
    assert Counter(y_out.tolist()) == {"normal": 40, "DoS": 40, "U2R": 40}
    # the kept rows come first: real rows in their input order, with every row of the class below the cap
    position_of = {row.tobytes(): i for i, row in enumerate(X)}
    positions = [position_of[row.tobytes()] for row in X_out[:82]]
    assert positions == sorted(positions) and {210, 211} <= set(positions)
    np.testing.assert_array_equal(y_out[:82], y[positions])
    _, _, other_seed = balance(X, y, "ros", seed=1, cap=0.25)
    assert other_seed["counts_capped"] == report["counts_capped"]
    assert not np.array_equal(balance(X, y, "none", seed=1, cap=0.25)[0], balance(X, y, "none", seed=0, cap=0.25)[0])


def test_a_cap_under_samples_subtypes_with_their_rows(skewed):
    X, y = skewed
    subtypes = np.array(["normal"] * 160 + ["smurf"] * 30 + ["back"] * 20 + ["rootkit"] * 2)
    _, y_out, report = balance(X, y, "ros", seed=0, cap=0.25, subtypes=subtypes)
    capped = Counter(report["counts_capped"])
    assert capped == {"normal": 40, "DoS": 40, "U2R": 2}
    assert sum(report["subtype_counts_after"].values()) == len(y_out)
    assert Counter(y_out.tolist())["U2R"] == 40


def test_the_cap_option_takes_a_share_below_one():
    assert parser().parse_args(["train", "--dataset", "nsl-kdd", "--balance-cap", "0.4"]).balance_cap == 0.4
    assert parser().parse_args(["train", "--dataset", "nsl-kdd"]).balance_cap is None
    for bad in ("1", "0", "-0.5", "lots"):
        with pytest.raises(SystemExit):
            parser().parse_args(["train", "--dataset", "nsl-kdd", "--balance-cap", bad])
