"""Value lists and defaults shared by the trainer, the service and the tools: the one home of each.

Command-line choices, metadata types and API schemas are all built from these names, so adding a
value here is the whole change.
"""

import os
from pathlib import Path

DATASET_IDS = ("nsl-kdd", "bot-iot", "nf-bot-iot-v2")
TASKS = ("binary", "multiclass")
ARCHITECTURES = ("cnn", "cnn-lstm")
PROTOCOLS = ("official", "random")  # how nsl-kdd is split; the other datasets have one stratified split
# The balancings that fill each class from its own rows (trainer.samplers), and so can fill by subtype too.
PER_CLASS_SAMPLERS = ("ros", "smote", "adasyn")
BALANCINGS = ("none", *PER_CLASS_SAMPLERS, "gan", "hybrid")
# What the per-class samplers fill: each attack family to its target, or each family's target shared equally among its
# subtypes (nsl-kdd's attack names), so a family's rare subtypes (guess_passwd in R2L) are not drowned by its common one.
BALANCE_UNITS = ("family", "subtype")
# How the validation split is drawn from the training data: a stratified random share, or (nsl-kdd official
# protocol, its default) whole attack subtypes held out as well, as the test file holds attacks training lacks.
VALIDATIONS = ("random", "subtypes")
# The training loss: plain, class-weighted, focal, or logit-adjusted by the training priors; crossentropy first (the default).
LOSSES = ("crossentropy", "class-weight", "focal", "logit-adjust")
# How numeric columns are scaled to [0, 1]: min-max (of log1p for wide non-negative columns), or each value's training
# quantile level, which keeps apart values that log scaling squeezes together (nf-bot-iot-v2's durations near 2^32 us).
SCALINGS = ("log-minmax", "quantile")

# The real datasets: --data-dir, else $NIDS_DATA_DIR, else this folder, relative to the working
# directory (beside the checkout when a command runs from the repository root).
DATA_DIR_ENV = "NIDS_DATA_DIR"
DEFAULT_DATA_DIR = Path("../shared/datasets")

# The GAN balancer's full-size training budget: whichever of the two ends first.
GAN_EPOCHS = 300
GAN_SECONDS = 180.0


def data_dir(value: str | Path | None = None) -> Path:
    """The data directory a command should read: its option, else the environment, else the default."""
    return Path(value or os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


# Unseen-attack detectors a model can carry as its ONNX graph's second output; the first is the default, as the one that
# caught most held-out attack subtypes on nsl-kdd's validation split at the same normal budget (every run records each
# candidate's validation numbers in metrics.json, novelty.validation_candidates).
NOVELTY_METHODS = ("input-mahalanobis", "mahalanobis", "energy", "none")
NOVELTY_BUDGET = 0.02  # the share of normal validation records a detector's threshold may flag
