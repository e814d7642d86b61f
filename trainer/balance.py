"""Re-balance the training split (and only it) by adding synthetic or repeated minority rows.

Dispatches to the per-class samplers (`trainer.samplers`: ros, smote, adasyn) or to the GAN and hybrid
balancers (`trainer.balance_gan`, which need TensorFlow and are imported only when used).
"""

import time
from collections import Counter

import numpy as np

from preprocess.defaults import BALANCINGS
from trainer.samplers import SAMPLERS, capped_rows, oversample, subtype_deficits, targets_for


def balance(
    X: np.ndarray,
    y: np.ndarray,
    method: str,
    seed: int,
    target: float = 1.0,
    subtypes: np.ndarray | None = None,
    cap: float | None = None,
    **options,
):
    """Return (X, y, report) with synthetic rows appended; the input rows come first, unchanged.

    `cap` (a share of the majority class's count): classes above it are first randomly under-sampled to it, so
    the kept input rows come first and `target` is a share of the capped majority. It buys a smaller training set
    with the same class mix: fewer rows per epoch, at the price of real rows of the largest classes.

    `subtypes` (row-aligned, per-class samplers only): each class's target is shared equally among its subtypes, and
    each subtype is sampled from its own rows. `options` reach the GAN and hybrid balancers only (layout_groups,
    gan_epochs, gan_seconds, hybrid_shares, holdout); the per-class samplers need none.
    """
    if method not in BALANCINGS:
        raise ValueError(f"unknown balancing method {method!r}; choose from {', '.join(BALANCINGS)}")
    if subtypes is not None and method not in (*SAMPLERS, "none"):
        raise ValueError(f"balancing by subtype works with {', '.join(SAMPLERS)}, not {method}")
    started = time.perf_counter()
    before = counts = Counter(y.tolist())  # counts: what the balancer starts from, after the cap where there is one
    report = {"method": method, "target": target, "by": "family" if subtypes is None else "subtype", "fallbacks": {}}
    if cap is not None:
        kept = capped_rows(y, cap, seed)
        X, y, subtypes = X[kept], y[kept], None if subtypes is None else subtypes[kept]
        counts = Counter(y.tolist())
        report |= {"cap": cap, "counts_capped": {str(k): v for k, v in sorted(counts.items())}}
    if method == "none":
        new_X, new_y = [], []
    elif subtypes is not None:
        family_of = dict(zip(subtypes.tolist(), y.tolist(), strict=True))
        new_X, new_subtypes = oversample(X, subtypes, method, subtype_deficits(y, subtypes, target), seed, report)
        new_y = [np.array([family_of[s] for s in part], dtype=y.dtype) for part in new_subtypes]
        report["subtype_counts_after"] = dict(sorted(Counter(np.concatenate([subtypes, *new_subtypes]).tolist()).items()))
    else:
        deficits = {c: t - counts[c] for c, t in targets_for(y, target).items()}
        if method in SAMPLERS:
            new_X, new_y = oversample(X, y, method, deficits, seed, report)
        else:
            from trainer.balance_gan import (
                gan_or_hybrid,  # TensorFlow-heavy; imported only when used
            )

            new_X, new_y = gan_or_hybrid(X, y, method, deficits, seed, report, **options)
    X_out = np.concatenate([X, *new_X]) if new_X else X
    y_out = np.concatenate([y, *new_y]) if new_y else y
    report["counts_before"] = {str(k): v for k, v in sorted(before.items())}
    report["counts_after"] = {str(k): v for k, v in sorted(Counter(y_out.tolist()).items())}
    report["seconds"] = round(time.perf_counter() - started, 2)
    return X_out, y_out, report
