"""One training run's settings, and their defaults: `trainer train`'s options are built from these fields."""

from dataclasses import dataclass, field, fields
from pathlib import Path

from preprocess.defaults import (
    BALANCE_UNITS,
    DEFAULT_DATA_DIR,
    GAN_EPOCHS,
    GAN_SECONDS,
    LOSSES,
    NOVELTY_BUDGET,
    NOVELTY_METHODS,
    PROTOCOLS,
    SCALINGS,
)
from trainer.datasets import DATASETS, DatasetSpec

# The metrics.json key of a split's difficulty-weighted macro-F1 (trainer.evaluate), where the dataset rates its records.
DIFFICULTY_WEIGHTED = "f1_macro_difficulty_weighted"


@dataclass
class TrainConfig:
    dataset: str
    task: str
    architecture: str
    balance: str = "none"
    balance_target: float = 1.0
    balance_cap: float | None = None  # classes above this share of the majority are under-sampled to it first
    balance_by: str = BALANCE_UNITS[0]
    protocol: str = PROTOCOLS[0]
    validation: str | None = None  # one of VALIDATIONS; None: the dataset and protocol's default (trainer.splits)
    loss: str = LOSSES[0]
    scaling: str = SCALINGS[0]
    focal_gamma: float = 2.0
    logit_tau: float = 1.0
    seed: int = 0
    epochs: int = 30
    batch_size: int = 256
    patience: int = 4
    learning_rate: float = 1e-3
    limit_rows: int | None = None
    class_floor: int = 0
    data_dir: Path = DEFAULT_DATA_DIR
    files: list[Path] = field(default_factory=list)
    out_dir: Path = Path("artifacts")
    run_baseline: bool = True
    gan_epochs: int = GAN_EPOCHS
    gan_seconds: float = GAN_SECONDS
    novelty: str = NOVELTY_METHODS[0]
    novelty_budget: float = NOVELTY_BUDGET
    alert_budget: float | None = None  # instead of novelty_budget: the share of normal validation records alerted
    unknown_is_attack: bool = False  # a record the detector flags unknown is called an attack (preprocess/verdict.py)
    ensemble_seeds: int = 1  # networks trained with seeds seed, seed + 1, ...; served as one graph of their mean
    forest_trees: int = 0  # > 0: a random forest of this many trees blended with the network(s) in the served graph
    balanced_cache: Path | None = None  # folder of balanced training sets, reused across runs (trainer.prepare)

    @property
    def model_id(self) -> str:
        return f"{self.dataset}-{self.task}-{self.architecture}" + ("-forest" if self.forest_trees else "")

    @property
    def spec(self) -> DatasetSpec:
        return DATASETS[self.dataset]

    @property
    def family_task(self) -> str:
        """The labels the network learns. Binary models learn the attack families (the multiclass labels) and add
        their probabilities into "attack": taught that R2L and DoS differ, a detector finds more of the rare ones."""
        return "multiclass" if self.task == "binary" else self.task


def default_validation(dataset: str, protocol: str) -> str:
    """Held-out subtypes where the test file holds subtypes training lacks (nsl-kdd, official); random elsewhere."""
    return "subtypes" if dataset == "nsl-kdd" and protocol == "official" else "random"


def validation_kind(metrics: dict) -> str:
    """The validation kind a run's metrics.json records (runs from before the option existed used the random one)."""
    return metrics["split"].get("validation", {}).get("kind", "random")


def default(name: str):
    """TrainConfig's default for one field."""
    return next(f.default for f in fields(TrainConfig) if f.name == name)
