"""The class a record is called: the most probable one, except that a model whose novelty detector decides
(`novelty.unknown_is_attack` in its metadata) never calls a record it flags unknown normal: such a record is called the
most probable attack class instead. The trainer scores, and the service, command line and batch job answer, by this rule."""

import numpy as np


def called_classes(probabilities: np.ndarray, normal: int, unknown: np.ndarray | None, unknown_is_attack: bool) -> np.ndarray:
    """probabilities: (n, classes); normal: the normal class's index; unknown: (n,) novelty flags, or None."""
    best = probabilities.argmax(axis=1)
    if not unknown_is_attack or unknown is None:
        return best
    overruled = unknown & (best == normal)
    if overruled.any():
        attacks = np.delete(np.arange(probabilities.shape[1]), normal)
        best[overruled] = attacks[probabilities[np.ix_(overruled, attacks)].argmax(axis=1)]
    return best
