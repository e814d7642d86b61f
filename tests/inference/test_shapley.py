"""The Shapley estimator behind explanations, against exact values."""

import itertools
import math
from types import SimpleNamespace

import numpy as np
import pytest

from inference import Model
from inference.explain import Explainer, NoBackground, shapley_values
from tests.inference.conftest import SOURCE_MODEL


def _exact_shapley(f, x, background, groups) -> np.ndarray:
    """Shapley values by enumerating every coalition, with absent groups taken from each background row."""
    n = len(groups)

    def value(coalition) -> float:
        rows = background.copy()
        for g in coalition:
            rows[:, groups[g]] = x[groups[g]]
        return float(f(rows).mean())

    exact = np.zeros(n)
    for g in range(n):
        others = [o for o in range(n) if o != g]
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for coalition in itertools.combinations(others, size):
                exact[g] += weight * (value((*coalition, g)) - value(coalition))
    return exact


@pytest.fixture
def sparse_problem():
    """Five groups (one of them two columns wide, like a one-hot categorical) over six columns; background rows
    share many values with x, as sparse network records do, so the skipped-step shortcut is exercised."""
    rng = np.random.default_rng(3)
    groups = [
        np.array([0]),
        np.array([1, 2]),
        np.array([3]),
        np.array([4]),
        np.array([5]),
    ]
    x = np.array([1.0, 1.0, 0.0, 0.5, 0.0, 2.0])
    background = rng.choice([0.0, 1.0], size=(12, 6))
    background[::3] = x  # some rows equal x everywhere
    return x, background, groups


def test_linear_model_gets_its_exact_shapley_values(sparse_problem):
    x, background, groups = sparse_problem
    weights = np.array([0.5, -1.0, 2.0, 0.25, 3.0, -0.75])
    values, base = shapley_values(lambda rows: rows @ weights, x, background, groups, 3, np.random.default_rng(0))
    expected = [(weights[g] * (x[g] - background[:, g])).sum(axis=1).mean() for g in groups]
    assert values == pytest.approx(expected, abs=1e-12)
    assert base == pytest.approx((background @ weights).mean())


def test_interactions_converge_to_the_exact_shapley_values(sparse_problem):
    x, background, groups = sparse_problem

    def f(rows):  # products and a threshold: no group acts alone
        return 1 / (1 + np.exp(-(rows[:, 0] * rows[:, 1] - rows[:, 2] + rows[:, 3] * rows[:, 5] + (rows[:, 4] > 0.5))))

    exact = _exact_shapley(f, x, background, groups)
    few, _ = shapley_values(f, x, background, groups, 2, np.random.default_rng(0))
    many, base = shapley_values(f, x, background, groups, 400, np.random.default_rng(0))
    assert many == pytest.approx(exact, abs=0.01)
    assert np.abs(many - exact).max() < np.abs(few - exact).max() or np.allclose(few, exact, atol=0.01)
    for values in (few, many):  # every estimate is additive, however few permutations
        assert values.sum() == pytest.approx(f(x[None, :])[0] - base, abs=1e-12)


def test_a_model_without_background_rows_cannot_explain(shipped):
    model = shipped.get(SOURCE_MODEL)
    bare = SimpleNamespace(meta=model.meta.model_copy(update={"background": None}))
    with pytest.raises(NoBackground, match=SOURCE_MODEL):
        Explainer(bare)


def test_explanations_of_a_real_model_add_up_and_skip_nothing(shipped):
    model = shipped.get(SOURCE_MODEL)
    explainer = Explainer(model)
    for record in model.meta.examples.values():
        explained = explainer.explain(record)
        assert [name for name, _, _ in explained.contributions] == sorted(
            [f.name for f in model.meta.features],
            key=lambda name: -abs(next(v for n, _, v in explained.contributions if n == name)),
        )
        assert sum(v for _, _, v in explained.contributions) == pytest.approx(explained.value - explained.base_value, abs=1e-6)
        assert explained.value == pytest.approx(float(model.predict_records([record]).confidence[0]), abs=1e-6)


def test_a_record_called_an_attack_because_it_is_unknown_is_explained_as_the_attack_it_is_called(shipped):
    model = shipped.get("nsl-kdd-binary-cnn")
    assert model.meta.novelty.unknown_is_attack
    record = model.meta.examples["normal"]
    # With the threshold below the record's score it is flagged unknown, and the rule calls it an attack.
    score = float(model.predict_records([record]).novelty_score[0])
    novelty = model.meta.novelty.model_copy(update={"threshold": score - 1})
    deciding = Model(model.meta.model_copy(update={"novelty": novelty}), model.session)
    predicted = deciding.predict_records([record])
    assert predicted.probabilities[0, 0] > 0.5 and predicted.labels[0] == "attack"  # most probably normal, called attack
    explained = Explainer(deciding).explain(record)
    assert explained.label == "attack" and explained.value == pytest.approx(float(predicted.confidence[0]), abs=1e-6)
