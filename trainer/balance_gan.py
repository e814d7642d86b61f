"""The GAN and hybrid balancers: the TensorFlow-backed half of `trainer.balance`.

`gan`: a conditional WGAN-GP fills each class's deficit; a class with fewer real rows than
GanConfig.min_class_rows falls back to SMOTE (which itself falls back to random over-sampling).
`hybrid`: all four over-samplers together (the row the report's tables call "Data Balancing"), as a configurable
mix: each method fills its stated share of every class's deficit (shares sum to 1; the last method takes rounding
leftovers).
"""

from preprocess.defaults import GAN_EPOCHS, GAN_SECONDS
from trainer.fidelity import fidelity_report
from trainer.gan import FeatureLayout, GanConfig, gan_oversample
from trainer.samplers import oversample

HYBRID_SHARES = {"ros": 0.25, "smote": 0.25, "adasyn": 0.25, "gan": 0.25}


def split_deficits(deficits: dict[str, int], shares: dict[str, float]) -> dict[str, dict[str, int]]:
    """Per method, how many rows of each class it must add; the parts of a class add up to its deficit."""
    if abs(sum(shares.values()) - 1.0) > 1e-9 or any(s < 0 for s in shares.values()):
        raise ValueError(f"hybrid shares must be non-negative and sum to 1, got {shares}")
    methods = list(shares)
    parts = {m: {} for m in methods}
    for cls, deficit in deficits.items():
        left = max(deficit, 0)
        for m in methods[:-1]:
            parts[m][cls] = min(left, round(shares[m] * max(deficit, 0)))
            left -= parts[m][cls]
        parts[methods[-1]][cls] = left
    return parts


def _gan_rows(X, y, deficits, seed, report, layout, config, holdout):
    targets = {cls: int((y == cls).sum()) + n for cls, n in deficits.items() if n > 0}
    X_new, y_new, gan_report = gan_oversample(X, y, targets, layout, config)
    new_X, new_y = [X_new], [y_new.astype(y.dtype)]
    skipped = {cls: deficits[cls] for cls in gan_report["skipped_small_classes"]}
    if skipped:
        for cls, n_real in gan_report["skipped_small_classes"].items():
            report["fallbacks"][str(cls)] = f"smote: {n_real} rows are fewer than the GAN's minimum of {config.min_class_rows}"
        more_X, more_y = oversample(X, y, "smote", skipped, seed, report)
        new_X += more_X
        new_y += more_y
    if len(y_new) and holdout is not None:
        gan_report["fidelity"] = fidelity_report(X, y, X_new, y_new, layout, *holdout, seed=seed)
    report["gan"] = gan_report | {"config": config.__dict__}
    return new_X, new_y


def gan_or_hybrid(
    X,
    y,
    method,
    deficits,
    seed,
    report,
    *,
    layout_groups,
    gan_epochs=GAN_EPOCHS,
    gan_seconds=GAN_SECONDS,
    hybrid_shares=None,
    holdout=None,
):
    """New rows for `deficits` by the GAN alone or by the hybrid mix; fills `report` as it goes."""
    grouped = {c for group in layout_groups for c in group}
    layout = FeatureLayout([c for c in range(X.shape[1]) if c not in grouped], [list(g) for g in layout_groups])
    config = GanConfig(epochs=gan_epochs, max_seconds=gan_seconds, seed=seed)
    if method == "gan":
        return _gan_rows(X, y, deficits, seed, report, layout, config, holdout)

    shares = hybrid_shares or HYBRID_SHARES
    report["hybrid_shares"] = shares
    new_X, new_y = [], []
    for part_method, part in split_deficits(deficits, shares).items():
        if part_method == "gan":
            more_X, more_y = _gan_rows(X, y, part, seed, report, layout, config, holdout)
        else:
            more_X, more_y = oversample(X, y, part_method, part, seed, report)
        report.setdefault("hybrid_added", {})[part_method] = {c: n for c, n in part.items() if n > 0}
        new_X += more_X
        new_y += more_y
    return new_X, new_y
