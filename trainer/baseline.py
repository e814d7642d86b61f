"""Classical anchors on the same encoded split, so every report shows what simpler, strong tools achieve: a random
forest and gradient-boosted trees (scikit-learn's histogram-based booster, fast on a few hundred thousand rows)."""

import time

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

from trainer.evaluate import evaluate

# name (the architecture its rows get in results.csv) -> (description, model for a seed). Both fit the unbalanced
# training split: the anchor is what the plain tool does, before any balancing choice.
BASELINES = {
    "random-forest": (
        "random forest (100 trees, unbalanced training split)",
        lambda seed: RandomForestClassifier(n_estimators=100, n_jobs=-1, random_state=seed),
    ),
    "gradient-boosting": (
        "histogram gradient-boosted trees (scikit-learn defaults: at most 100 iterations, early stopping on 10 % of the"
        " training split above 10,000 rows; unbalanced training split)",
        lambda seed: HistGradientBoostingClassifier(random_state=seed),
    ),
}


def run(X_train, y_train, held_out: dict[str, tuple[np.ndarray, np.ndarray]], classes, normal_class, seed) -> dict:
    """name -> {"name", "fit_seconds", and each held-out split's scores}."""
    results = {}
    for name, (description, make) in BASELINES.items():
        started = time.perf_counter()
        model = make(seed).fit(X_train, y_train)
        result = {"name": description, "fit_seconds": round(time.perf_counter() - started, 1)}
        for split, (X, y) in held_out.items():
            predicted = model.classes_[model.predict_proba(X).argmax(axis=1)]
            result[split] = evaluate(y, predicted, classes, normal_class)
        results[name] = result
    return results
