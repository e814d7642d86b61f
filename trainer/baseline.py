"""A classical baseline on the same encoded split, so every report shows what a simpler tool achieves."""

import time

import numpy as np
from sklearn.ensemble import RandomForestClassifier

from trainer.evaluate import evaluate


def run(X_train, y_train, held_out: dict[str, tuple[np.ndarray, np.ndarray]], classes, normal_class, seed) -> dict:
    started = time.perf_counter()
    forest = RandomForestClassifier(n_estimators=100, n_jobs=-1, random_state=seed)
    forest.fit(X_train, y_train)
    result = {"name": "random-forest (100 trees, unbalanced training split)", "fit_seconds": round(time.perf_counter() - started, 1)}
    for name, (X, y) in held_out.items():
        predicted = forest.classes_[forest.predict_proba(X).argmax(axis=1)]
        result[name] = evaluate(y, predicted, classes, normal_class)
    return result
