"""Explanations: the Shapley estimator against exact values, and POST /predict/explain on every shipped model."""

import itertools
import math

import numpy as np
import pytest

from service.explain import Explainer, NoBackground, shapley_values

# Contributions add up to (probability - base value) by construction; what is left is float rounding of
# probabilities that onnxruntime computes in float32, in batches of different sizes.
ADDITIVITY_TOLERANCE = 1e-5


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
    groups = [np.array([0]), np.array([1, 2]), np.array([3]), np.array([4]), np.array([5])]
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


def test_a_model_without_background_rows_cannot_explain(metadata):
    model_id = next(iter(metadata))
    bare = metadata[model_id].model_copy(update={"background": None})
    with pytest.raises(NoBackground, match=model_id):
        Explainer(bare, None, lambda rows: rows)


def test_explain_answers_prediction_and_additive_contributions(client, auth, index, metadata):
    for entry in index["models"]:
        meta = metadata[entry["id"]]
        for record in meta.examples.values():
            body = {"dataset": meta.dataset, "model": entry["id"], "record": record}
            response = client.post("/predict/explain", headers=auth, json=body)
            assert response.status_code == 200, response.text
            answer = response.json()
            predicted = client.post("/predict", headers=auth, json=body).json()
            assert answer["model"] == entry["id"] and answer["prediction"] == predicted["prediction"]
            explanation, prediction = answer["explanation"], answer["prediction"]
            assert explanation["label"] == prediction["label"]
            assert explanation["value"] == pytest.approx(prediction["confidence"], abs=1e-6)
            contributions = explanation["contributions"]
            assert [c["feature"] for c in contributions] == sorted(
                [f.name for f in meta.features], key=lambda name: -abs(next(c["contribution"] for c in contributions if c["feature"] == name))
            )
            assert all(c["value"] == record[c["feature"]] for c in contributions)
            total = sum(c["contribution"] for c in contributions)
            assert total == pytest.approx(prediction["confidence"] - explanation["base_value"], abs=ADDITIVITY_TOLERANCE)
            assert explanation["background_rows"] == len(meta.background)


def test_the_same_record_gets_the_same_explanation(client, auth, examples):
    body = {"dataset": "nsl-kdd", "record": examples["nsl-kdd"]["DoS"]}
    first, second = (client.post("/predict/explain", headers=auth, json=body).json() for _ in range(2))
    assert first == second


def test_a_column_equal_in_the_record_and_every_background_row_contributes_nothing(client, auth, metadata, examples):
    """The null-player property on the real model: switching such a column never changes a row."""
    meta = metadata["nsl-kdd-multiclass-cnn"]
    for record in examples["nsl-kdd"].values():
        body = {"dataset": "nsl-kdd", "model": meta.model_id, "record": record}
        contributions = client.post("/predict/explain", headers=auth, json=body).json()["explanation"]["contributions"]
        constant = {name for name, value in record.items() if all(row.get(name) == value for row in meta.background)}
        assert constant, "the example shares no column with every background row: pick another record"
        assert all(c["contribution"] == 0.0 for c in contributions if c["feature"] in constant)
        assert any(c["contribution"] != 0.0 for c in contributions)


def test_explain_errors(client, auth, examples, bare_client):
    record = examples["nsl-kdd"]["normal"]
    assert client.post("/predict/explain", json={"dataset": "nsl-kdd", "record": record}).status_code == 401
    response = client.post("/predict/explain", headers=auth, json={"dataset": "nsl-kdd", "model": "nope", "record": record})
    assert response.status_code == 404 and "nope" in response.json()["detail"]
    response = client.post(
        "/predict/explain", headers=auth, json={"dataset": "nsl-kdd", "model": "nf-bot-iot-v2-multiclass-cnn", "record": record}
    )
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "model"]
    response = client.post("/predict/explain", headers=auth, json={"dataset": "nsl-kdd", "record": dict(record, src_bytes=-1)})
    assert response.status_code == 422 and "src_bytes" in response.json()["detail"][0]["loc"]
    credentials = {"username": "explain-bare-user", "password": "correct horse battery"}
    bare_client.post("/auth/register", json=credentials)
    token = bare_client.post("/auth/token", data=credentials).json()["access_token"]
    response = bare_client.post(
        "/predict/explain", headers={"Authorization": f"Bearer {token}"}, json={"dataset": "nsl-kdd", "record": record}
    )
    assert response.status_code == 409 and "background" in response.json()["detail"]
