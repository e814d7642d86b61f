"""How real-looking synthetic rows are: per-class marginal distances and train-on-synthetic / test-on-real."""

import numpy as np
from scipy.stats import ks_2samp, wasserstein_distance
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, recall_score

from trainer.gan import FeatureLayout

# Both classifiers see at most this many rows per class (the same draw-size for both), which
# keeps the comparison to seconds on NSL-KDD-sized data.
TSTR_MAX_ROWS_PER_CLASS = 5000
TSTR_TREES = 50


def fidelity_report(X_real, y_real, X_syn, y_syn, layout: FeatureLayout, X_test, y_test, seed: int) -> dict:
    """Compare synthetic rows with real rows of the same class, and test what a classifier learns from them.

    "per_class", for every class present in y_syn, against the real rows of that class:
      ks_mean / ks_max: Kolmogorov-Smirnov statistic per numeric column (0 = same distribution, 1 = disjoint);
      wasserstein_mean: earth mover's distance per numeric column (columns are in [0, 1], so is it);
      tv_mean / tv_max: total-variation distance per one-hot group between the category frequencies
        (category = argmax of the group), in [0, 1].
      A metric is None when the class has no real rows or the layout has no columns of that kind.

    "tstr" (train on synthetic, test on real): two random forests with the same seed, evaluated on (X_test, y_test).
      "synthetic" arm: the synthetic rows of each class in y_syn, plus the real rows of every class without
        synthetic rows (so the classifier knows every class).
      "real" arm: identical, except each class in y_syn gets the same number of REAL rows of that class,
        drawn without replacement, or with replacement when the class has fewer real rows than synthetic
        ones (the arm is then random oversampling; those classes are listed in "resampled_with_replacement"),
        and none at all for a class without real rows.
      Every class is first capped at TSTR_MAX_ROWS_PER_CLASS rows (drawn with `seed`), the same count in both
      arms ("train_rows_per_class"). So the two arms differ only in where the rows of the synthetic classes
      come from. Each arm reports accuracy, macro-recall over the classes present in y_test, and the recall
      of each synthetic class present in y_test.
    """
    y_real, y_syn, y_test = (np.asarray(v).astype(str) for v in (y_real, y_syn, y_test))
    syn_classes = sorted(set(y_syn))
    per_class = {c: _marginal_distances(X_real[y_real == c], X_syn[y_syn == c], layout) for c in syn_classes}
    return {"per_class": per_class, "tstr": _train_synthetic_test_real(X_real, y_real, X_syn, y_syn, X_test, y_test, seed)}


def _marginal_distances(real: np.ndarray, syn: np.ndarray, layout: FeatureLayout) -> dict:
    report = {"n_real": len(real), "n_synthetic": len(syn)}
    if len(real) == 0:
        return report | dict.fromkeys(["ks_mean", "ks_max", "wasserstein_mean", "tv_mean", "tv_max"])
    # method="asymp": only the statistic is used, and the exact p-value is slow on thousands of rows.
    ks = [ks_2samp(real[:, j], syn[:, j], method="asymp").statistic for j in layout.numeric]
    wasserstein = [wasserstein_distance(real[:, j], syn[:, j]) for j in layout.numeric]
    tv = [_total_variation(real[:, group], syn[:, group]) for group in layout.onehot_groups]
    return report | {
        "ks_mean": _mean(ks),
        "ks_max": _max(ks),
        "wasserstein_mean": _mean(wasserstein),
        "tv_mean": _mean(tv),
        "tv_max": _max(tv),
    }


def _total_variation(real_group: np.ndarray, syn_group: np.ndarray) -> float:
    width = real_group.shape[1]
    p = np.bincount(real_group.argmax(axis=1), minlength=width) / len(real_group)
    q = np.bincount(syn_group.argmax(axis=1), minlength=width) / len(syn_group)
    return 0.5 * float(np.abs(p - q).sum())


def _mean(values: list) -> float | None:
    return float(np.mean(values)) if values else None


def _max(values: list) -> float | None:
    return float(np.max(values)) if values else None


def _train_synthetic_test_real(X_real, y_real, X_syn, y_syn, X_test, y_test, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    syn_classes = sorted(set(y_syn))
    syn_parts, real_parts, resampled = [], [], []
    for c in syn_classes:
        rows = _draw(X_syn[y_syn == c], min(TSTR_MAX_ROWS_PER_CLASS, int((y_syn == c).sum())), rng)
        syn_parts.append((rows, c))
        pool = X_real[y_real == c]
        if 0 < len(pool) < len(rows):
            resampled.append(c)
        real_parts.append((_draw(pool, len(rows) if len(pool) else 0, rng), c))
    for c in sorted(set(y_real) - set(syn_classes)):
        shared = (_draw(X_real[y_real == c], min(TSTR_MAX_ROWS_PER_CLASS, int((y_real == c).sum())), rng), c)
        syn_parts.append(shared)
        real_parts.append(shared)
    test_classes = sorted(set(y_test))
    arms = {
        name: _fit_and_score(parts, X_test, y_test, test_classes, syn_classes, seed)
        for name, parts in [("synthetic", syn_parts), ("real", real_parts)]
    }
    return {
        "classifier": f"RandomForestClassifier(n_estimators={TSTR_TREES}, random_state={seed})",
        "train_rows_per_class": {c: len(rows) for rows, c in syn_parts},
        "resampled_with_replacement": resampled,
        **arms,
    }


def _draw(rows: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n rows, without replacement when there are enough."""
    return rows[rng.choice(len(rows), size=n, replace=n > len(rows))] if n else rows[:0]


def _fit_and_score(parts, X_test, y_test, test_classes: list[str], syn_classes: list[str], seed: int) -> dict:
    X_train = np.concatenate([rows for rows, _ in parts])
    y_train = np.concatenate([np.full(len(rows), c) for rows, c in parts])
    model = RandomForestClassifier(n_estimators=TSTR_TREES, random_state=seed, n_jobs=1).fit(X_train, y_train)
    predicted = model.predict(X_test)
    recalled = [c for c in syn_classes if c in test_classes]
    per_class = recall_score(y_test, predicted, labels=recalled, average=None, zero_division=0) if recalled else []
    return {
        "accuracy": float(accuracy_score(y_test, predicted)),
        "macro_recall": float(recall_score(y_test, predicted, labels=test_classes, average="macro", zero_division=0)),
        "recall": {c: float(r) for c, r in zip(recalled, per_class, strict=False)},
    }
