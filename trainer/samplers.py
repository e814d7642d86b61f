"""The per-class over-samplers (random over-sampling, SMOTE, ADASYN), the per-class targets they fill, and the cap
that under-samples the largest classes first.

Every method fills each class up to a target count: `target` times the majority class's count.
Tiny classes do not crash it: SMOTE's k_neighbors is capped at the class size minus one, a class of
one row falls back to random over-sampling, and ADASYN falls back to SMOTE for a class where it
finds no majority neighbours. The report says which class fell back to what.
"""

from collections import Counter

import numpy as np
from imblearn.over_sampling import ADASYN, SMOTE
from imblearn.under_sampling import RandomUnderSampler

K_NEIGHBORS = 5


def targets_for(y: np.ndarray, target: float) -> dict[str, int]:
    counts = Counter(y.tolist())
    goal = round(target * max(counts.values()))
    return {c: max(n, goal) for c, n in counts.items()}


def capped_rows(y: np.ndarray, cap: float, seed: int) -> np.ndarray:
    """Indices, in input order, of the rows kept when every class above `cap` times the majority class's count is
    randomly under-sampled to that count; smaller classes keep every row."""
    counts = Counter(y.tolist())
    limit = round(cap * max(counts.values()))
    sampler = RandomUnderSampler(sampling_strategy={c: min(n, limit) for c, n in counts.items()}, random_state=seed)
    sampler.fit_resample(np.arange(len(y)).reshape(-1, 1), y)  # row numbers stand in for the rows: nothing is copied
    return np.sort(sampler.sample_indices_)


def subtype_deficits(y: np.ndarray, subtypes: np.ndarray, target: float) -> dict[str, int]:
    """Rows to add per subtype: each class's target (as `targets_for`) shared equally among the class's subtypes; a
    subtype already above its share keeps its rows, and its class ends above the target."""
    goal = round(target * max(Counter(y.tolist()).values()))
    deficits = {}
    for cls in sorted(set(y.tolist())):
        counts = Counter(subtypes[y == cls].tolist())
        share = round(goal / len(counts))
        deficits |= {subtype: max(share - n, 0) for subtype, n in sorted(counts.items())}
    return deficits


def _ros(X, y, cls, n_new, seed, report):
    rows = np.flatnonzero(y == cls)
    pick = np.random.default_rng(seed).choice(rows, size=n_new, replace=True)
    return X[pick]


def _smote(X, y, cls, n_new, seed, report):
    n_real = int((y == cls).sum())
    if n_real < 2:
        report["fallbacks"][str(cls)] = f"ros: {n_real} row is too few for SMOTE"
        return _ros(X, y, cls, n_new, seed, report)
    k = min(K_NEIGHBORS, n_real - 1)
    sampler = SMOTE(sampling_strategy={cls: n_real + n_new}, k_neighbors=k, random_state=seed)
    X_res, _ = sampler.fit_resample(X, y)
    return X_res[len(X) :]


def _adasyn(X, y, cls, n_new, seed, report):
    n_real = int((y == cls).sum())
    if n_real < 2:
        return _smote(X, y, cls, n_new, seed, report)
    k = min(K_NEIGHBORS, n_real - 1)
    try:
        sampler = ADASYN(sampling_strategy={cls: n_real + n_new}, n_neighbors=k, random_state=seed)
        X_res, _ = sampler.fit_resample(X, y)
    except (ValueError, RuntimeError) as exc:  # no majority neighbours, or nothing to generate
        report["fallbacks"][str(cls)] = f"smote: ADASYN refused ({str(exc).splitlines()[0][:80]})"
        return _smote(X, y, cls, n_new, seed, report)
    return X_res[len(X) :]


SAMPLERS = {"ros": _ros, "smote": _smote, "adasyn": _adasyn}


def oversample(X: np.ndarray, y: np.ndarray, method: str, deficits: dict[str, int], seed: int, report: dict):
    """New rows for each class's deficit, by one per-class method."""
    new_X, new_y = [], []
    for cls, n_new in deficits.items():
        if n_new <= 0:
            continue
        rows = SAMPLERS[method](X, y, cls, n_new, seed, report)
        new_X.append(rows.astype(np.float32))
        new_y.append(np.full(len(rows), cls, dtype=y.dtype))
    return new_X, new_y
