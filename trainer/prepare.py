"""The data half of a training run, without TensorFlow: load the splits, encode them, balance the training split.

`trainer.train` runs these steps before fitting; `bench.training_cost` runs the same steps to time balancing alone.
"""

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainer.balance import balance
from trainer.config import TrainConfig
from trainer.encoder import Encoder
from trainer.load import Labeled
from trainer.splits import Splits, make_splits, model_splits


@dataclass
class Classes:
    """The classes the network learns (`families`) and those the model answers with (`output`)."""

    families: list[str]
    output: list[str]
    normal: str  # the output class meaning normal traffic
    output_of: dict[str, str]  # family -> output class

    @property
    def index_of(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.families)}

    @property
    def to_output(self) -> np.ndarray:
        """Family index -> output class index."""
        return np.array([self.output.index(self.output_of[f]) for f in self.families])


@dataclass
class Encoded:
    """The splits, the encoder fitted on the training split, and each split as (X, family index)."""

    splits: Splits
    classes: Classes
    encoder: Encoder
    train: tuple[np.ndarray, np.ndarray]
    validation: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    extra_tests: dict[str, tuple[np.ndarray, np.ndarray]]

    def subtypes(self, split: str) -> np.ndarray:
        """The raw labels (e.g. nsl-kdd attack names) of a split's rows, aligned with its (X, y)."""
        part = self.splits.by_name()[split]
        return part.subtypes[known_rows(part, self.classes)].to_numpy()

    def difficulty(self, split: str) -> np.ndarray | None:
        """The difficulty rating of a split's rows, aligned with its (X, y); None where the dataset has none."""
        part = self.splits.by_name()[split]
        return None if part.difficulty is None else part.difficulty[known_rows(part, self.classes)].to_numpy()

    @property
    def held_out(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return {"validation": self.validation, "test": self.test} | self.extra_tests


def load_splits(cfg: TrainConfig) -> Splits:
    return make_splits(
        cfg.spec,
        cfg.family_task,
        cfg.data_dir,
        cfg.protocol,
        cfg.seed,
        cfg.files or None,
        cfg.limit_rows,
        cfg.class_floor,
        cfg.validation,
    )


def classes_of(cfg: TrainConfig, splits: Splits) -> Classes:
    """The families present in the training split, and the output class each one counts towards."""
    spec = cfg.spec
    families = [c for c in spec.classes(cfg.family_task) if c in set(splits.train.labels)]
    normal = spec.normal_class[cfg.task]
    if cfg.task == "binary":
        output = spec.classes("binary")
        output_of = {f: normal if f == spec.normal_class[cfg.family_task] else output[1] for f in families}
    else:
        output, output_of = families, {f: f for f in families}
    return Classes(families, output, normal, output_of)


def known_rows(part: Labeled, classes: Classes) -> np.ndarray:
    """The rows of a class trained on: a class absent from training cannot be predicted, so it is not scored."""
    return part.labels.isin(classes.index_of).to_numpy()


def scored_parts(metrics: dict, data_dir: Path, classes: list[str]) -> dict[str, tuple[Labeled, np.ndarray]]:
    """A trained model's held-out splits (validation, test, extra tests) rebuilt from its metrics.json as the trainer
    scored them: the rows of the classes it was trained on, and each row's output class as an index into `classes`."""
    splits = model_splits(metrics, data_dir)
    config = metrics["config"]
    trained = classes_of(TrainConfig(config["dataset"], config["task"], config["architecture"]), splits)
    parts = {}
    for name, whole in splits.by_name().items():
        if name == "train":
            continue
        part = whole.take(np.flatnonzero(known_rows(whole, trained)))
        parts[name] = part, np.array([classes.index(trained.output_of[family]) for family in part.labels])
    return parts


def encode(cfg: TrainConfig, splits: Splits, classes: Classes) -> Encoded:
    """Fit the encoding on the training split only and apply it to every split."""
    encoder = Encoder(cfg.spec, splits.train.features, cfg.scaling)
    index_of = classes.index_of

    def encoded(part: Labeled) -> tuple[np.ndarray, np.ndarray]:
        known = known_rows(part, classes)
        return encoder.transform(part.features[known]), part.labels[known].map(index_of).to_numpy()

    extra = {name: encoded(part) for name, part in splits.extra_tests.items()}
    return Encoded(splits, classes, encoder, encoded(splits.train), encoded(splits.validation), encoded(splits.test), extra)


def balanced_key(cfg: TrainConfig, data: Encoded) -> str:
    """What a balanced training set depends on: the split (dataset, task, protocol, validation, seed, files, sampling),
    the balancing and its budget, and the fitted encoding. Architecture and loss are not in it."""
    fields = {
        "dataset": cfg.dataset,
        "task": cfg.family_task,
        "protocol": cfg.protocol,
        "validation": data.splits.description["validation"],
        "seed": cfg.seed,
        "files": data.splits.description["files"],
        "limit_rows": cfg.limit_rows,
        "class_floor": cfg.class_floor,
        "balance": cfg.balance,
        "balance_target": cfg.balance_target,
        "balance_cap": cfg.balance_cap,
        "balance_by": cfg.balance_by,
        "scaling": cfg.scaling,
        "gan_epochs": cfg.gan_epochs,
        "gan_seconds": cfg.gan_seconds,
        "encoding": [f.model_dump(mode="json") for f in data.encoder.features],
        "encoded_features": data.encoder.encoded_features,
        "train_rows": len(data.train[1]),
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:24]


def balance_training(cfg: TrainConfig, data: Encoded) -> tuple[np.ndarray, np.ndarray, dict]:
    """The training split with synthetic rows added, labels as family indices, and the balancing report; read from
    `cfg.balanced_cache` when an earlier run with the same `balanced_key` wrote it there (the report says so)."""
    if cfg.balanced_cache is None:
        return _balance(cfg, data)
    path = Path(cfg.balanced_cache) / f"{balanced_key(cfg, data)}.npz"
    if path.is_file():
        started = time.perf_counter()
        with np.load(path) as stored:
            X_bal, y_bal, report = stored["X"], stored["y"], json.loads(str(stored["report"]))
        # "seconds" is this run's cost of the step; the resampling's own stays beside it
        seconds = round(time.perf_counter() - started, 2)
        return X_bal, y_bal, report | {"cached_from": str(path), "resampled_seconds": report["seconds"], "seconds": seconds}
    X_bal, y_bal, report = _balance(cfg, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.npz")  # written whole, then renamed: a reader never sees half a file
    np.savez(partial, X=X_bal, y=y_bal, report=json.dumps(report))
    partial.replace(path)
    return X_bal, y_bal, report


def _balance(cfg: TrainConfig, data: Encoded) -> tuple[np.ndarray, np.ndarray, dict]:
    families = np.array(data.classes.families)
    (X_train, y_train), (X_val, y_val) = data.train, data.validation
    X_bal, names_bal, report = balance(
        X_train,
        families[y_train],
        cfg.balance,
        cfg.seed,
        cfg.balance_target,
        cap=cfg.balance_cap,
        subtypes=data.subtypes("train") if cfg.balance_by == "subtype" else None,
        layout_groups=data.encoder.onehot_groups(),
        gan_epochs=cfg.gan_epochs,
        gan_seconds=cfg.gan_seconds,
        holdout=(X_val, families[y_val]),  # GAN fidelity is measured on validation rows, never test
    )
    index_of = data.classes.index_of
    return X_bal, np.array([index_of[c] for c in names_bal]), report
