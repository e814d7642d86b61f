"""Shared fixtures for the trainer tests."""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trainer import experiment
from trainer.__main__ import parser
from trainer.config import default_validation
from trainer.evaluate import evaluate
from trainer.experiment import Cell
from trainer.gan import FeatureLayout, GanConfig, gan_oversample

NSL_KDD_20_PERCENT = "nsl-kdd/KDDTrain+_20Percent.txt.gz"  # under the data_dir fixture (tests/conftest.py)
NSL_KDD_CATEGORICAL = (1, 2, 3)  # protocol_type, service, flag
NSL_KDD_LABEL = 41
SECOND_TEST = "KDDTest-21.txt.gz"  # the official protocol's second test set, as a split name in metrics.json
# (train rows, test rows) per attack name: four frequent classes, pod (above min_class_rows
# after the split) and guess_passwd (10 rows in the file, below it).
NSL_KDD_SAMPLE = {
    "normal": (1200, 300),
    "neptune": (800, 200),
    "ipsweep": (400, 100),
    "satan": (400, 100),
    "pod": (30, 8),
    "guess_passwd": (10, 0),
}
# normal is already above its target and must get nothing; guess_passwd is too small for the GAN.
GAN_TARGETS = {"pod": 300, "ipsweep": 600, "guess_passwd": 100, "normal": 1000}
# The epoch count, not the clock, must end the run: a time budget would make the output depend on machine load.
GAN_TINY_BUDGET = GanConfig(epochs=5, max_seconds=600, seed=7)


@dataclass(frozen=True)
class EncodedSample:
    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    layout: FeatureLayout


def encode_nsl_kdd(train: pd.DataFrame, test: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, FeatureLayout]:
    """Min-max of log1p for numeric columns, one-hot for the categoricals, fitted on `train`.

    Columns keep the file's order, so one-hot groups sit between numeric columns, as they
    may in the trainer's own encoding.
    """
    train_cols, test_cols, numeric, groups = [], [], [], []
    for c in range(41):
        if c in NSL_KDD_CATEGORICAL:
            categories = sorted(train[c].unique())
            groups.append(list(range(len(train_cols), len(train_cols) + len(categories))))
            for value in categories:
                train_cols.append((train[c] == value).to_numpy(np.float32))
                test_cols.append((test[c] == value).to_numpy(np.float32))  # unseen in train -> all zero
        else:
            a, b = (np.log1p(np.maximum(frame[c].to_numpy(float), 0.0)) for frame in (train, test))
            low, span = a.min(), a.max() - a.min()
            span = span if span > 0 else 1.0
            numeric.append(len(train_cols))
            train_cols.append(((a - low) / span).astype(np.float32))
            test_cols.append(np.clip((b - low) / span, 0.0, 1.0).astype(np.float32))
    return np.stack(train_cols, axis=1), np.stack(test_cols, axis=1), FeatureLayout(numeric, groups)


@pytest.fixture(scope="session")
def nsl_sample(data_dir) -> EncodedSample:
    """About 2,800 training and 700 test rows of real NSL-KDD, split per class with a fixed seed."""
    frame = pd.read_csv(data_dir / NSL_KDD_20_PERCENT, header=None)
    frame = frame[frame[NSL_KDD_LABEL].isin(NSL_KDD_SAMPLE)].sample(frac=1.0, random_state=0)
    by_name = {name: frame[frame[NSL_KDD_LABEL] == name] for name in NSL_KDD_SAMPLE}
    train = pd.concat([by_name[name].iloc[:n_train] for name, (n_train, _) in NSL_KDD_SAMPLE.items()])
    test = pd.concat([by_name[name].iloc[n_train : n_train + n_test] for name, (n_train, n_test) in NSL_KDD_SAMPLE.items()])
    X, X_test, layout = encode_nsl_kdd(train, test)
    return EncodedSample(X, train[NSL_KDD_LABEL].to_numpy(str), X_test, test[NSL_KDD_LABEL].to_numpy(str), layout)


@dataclass(frozen=True)
class GanRun:
    X_new: np.ndarray
    y_new: np.ndarray
    report: dict
    targets: dict[str, int]
    config: GanConfig


@pytest.fixture(scope="session")
def gan_run(nsl_sample) -> GanRun:
    """One tiny-budget GAN run on the sample, shared by the GAN and fidelity tests."""
    X_new, y_new, report = gan_oversample(nsl_sample.X, nsl_sample.y, GAN_TARGETS, nsl_sample.layout, GAN_TINY_BUDGET)
    return GanRun(X_new, y_new, report, GAN_TARGETS, GAN_TINY_BUDGET)


# Tiny experiment folders for the report and runner tests: no data, no training.
TINY_SPLIT = {"normal": 50, "DoS": 30, "Probe": 10, "R2L": 8, "U2R": 2}  # rows per class of every fake evaluation split
TINY_TRAIN = {"normal": 1000, "DoS": 700, "Probe": 200, "R2L": 40, "U2R": 5}  # R2L and U2R are the rarest attacks


def fake_scores(correct: dict[str, int]) -> dict:
    """evaluate() on a TINY_SPLIT split where `correct[c]` rows of class c are right (all of them when c is absent).
    Wrong rows are called normal, or DoS when they are normal, so accuracy is the share of right rows."""
    classes = list(TINY_SPLIT)
    y_true, y_pred = [], []
    for i, (name, rows) in enumerate(TINY_SPLIT.items()):
        right = correct.get(name, rows)
        y_true += [i] * rows
        y_pred += [i] * right + [classes.index("DoS" if name == "normal" else "normal")] * (rows - right)
    return evaluate(np.array(y_true), np.array(y_pred), classes, "normal")


def fake_fidelity(cls: str) -> dict:
    """What trainer.fidelity.fidelity_report returns, for one synthetic class."""
    arm = {"accuracy": 0.8, "macro_recall": 0.7, "recall": {cls: 0.5}}
    return {
        "per_class": {
            cls: {
                "n_real": 5,
                "n_synthetic": 995,
                "ks_mean": 0.2,
                "ks_max": 0.6,
                "wasserstein_mean": 0.05,
                "tv_mean": 0.1,
                "tv_max": 0.3,
            }
        },
        "tstr": {"classifier": "RandomForestClassifier", "synthetic": arm, "real": arm | {"recall": {cls: 0.9}}},
    }


class FakeTrainer:
    """Stands in for `subprocess.call` of `python -m trainer train ...` in trainer.experiment: writes the run folder a
    real run writes (metrics.json, metadata.json, model.onnx) and records which cells it ran.

    outcomes: cell name -> (right rows per class on test, on validation); a cell not listed gets every row right.
    """

    def __init__(self, outcomes: dict[str, tuple[dict, dict]] | None = None, second_test: bool = False):
        self.outcomes = outcomes or {}
        self.second_test = second_test  # official-protocol cells also report SECOND_TEST, as nsl-kdd's do
        self.ran: list[str] = []
        self.commands: list[list[str]] = []

    def __call__(self, command: list[str], **_) -> int:
        args = parser().parse_args(command[3:])  # after python -m trainer
        validation_kind = args.validation or default_validation(args.dataset, args.protocol)
        cell = Cell(
            args.dataset,
            args.task,
            args.protocol,
            args.arch,
            args.balance,
            args.seed,
            args.loss,
            validation_kind,
            args.scaling,
            args.balance_by,
        )
        self.commands.append(command)
        test, validation = self.outcomes.get(cell.name, ({}, {}))
        balanced = {c: max(TINY_TRAIN.values()) for c in TINY_TRAIN} if args.balance != "none" else TINY_TRAIN
        metrics = {
            "model_id": f"{args.dataset}-{args.task}-{args.arch}",
            "validation": fake_scores(validation),
            "test": fake_scores(test),
            "extra_tests": {SECOND_TEST: fake_scores(test)} if self.second_test and args.protocol == "official" else {},
            "command": " ".join(command),
            "config": {
                "epochs": args.epochs,
                "limit_rows": args.limit_rows,
                "class_floor": args.class_floor,
                "gan_epochs": args.gan_epochs,
                "gan_seconds": args.gan_seconds,
            },
            "split": {"class_counts": {"train": TINY_TRAIN}, "validation": {"kind": validation_kind}},
            "balancing": {
                "method": args.balance,
                "target": 1.0,
                "fallbacks": {},
                "counts_before": TINY_TRAIN,
                "counts_after": balanced,
                "seconds": 0.1,
            },
            "training": {"fit_seconds": 1.0, "total_seconds": 2.0, "peak_rss_mb": 100.0, "epochs_run": 1, "history": {}},
        }
        if args.balance == "gan":
            metrics["balancing"]["gan"] = {"fidelity": fake_fidelity("U2R")}
        if not args.no_baseline:
            metrics["baselines"] = {
                name: {"name": name, "fit_seconds": 0.1, "validation": fake_scores({}), "test": fake_scores({"R2L": r2l})}
                | {split: fake_scores({"R2L": r2l}) for split in metrics["extra_tests"]}
                for name, r2l in BASELINE_R2L.items()
            }
        folder = args.out / metrics["model_id"]
        folder.mkdir(parents=True, exist_ok=True)  # a rerun overwrites, as train.run does
        (folder / "metrics.json").write_text(json.dumps(metrics))
        meta = {
            "model_id": metrics["model_id"],
            "dataset": args.dataset,
            "task": args.task,
            "architecture": args.arch,
            "balancing": {"method": args.balance},
        }
        (folder / "metadata.json").write_text(json.dumps(meta))
        (folder / "model.onnx").write_bytes(b"not a real model")
        self.ran.append(cell.name)
        return 0


# The report fixture's outcomes. Official protocol, right rows per class (test, validation):
# none: accuracy 0.81 and 0.91 on test; smote: R2L recall up, U2R down, and the best validation (both seeds tie);
# ros: the best test scores, but a worse validation than smote. Random-protocol cells get every row right.
TINY_OUTCOMES = {
    "nsl-kdd-multiclass-official-cnn-none-s0": ({"Probe": 0, "R2L": 0, "U2R": 1}, {"Probe": 5}),
    "nsl-kdd-multiclass-official-cnn-none-s1": ({"Probe": 10, "R2L": 0, "U2R": 1}, {"Probe": 5}),
    "nsl-kdd-multiclass-official-cnn-smote-s0": ({"R2L": 6, "U2R": 0}, {}),
    "nsl-kdd-multiclass-official-cnn-smote-s1": ({"R2L": 8, "U2R": 0}, {}),
    "nsl-kdd-multiclass-official-cnn-ros-s0": ({}, {"Probe": 2}),
    "nsl-kdd-multiclass-official-cnn-ros-s1": ({}, {"Probe": 2}),
    "nsl-kdd-multiclass-official-cnn-gan-s0": ({"R2L": 0}, {"Probe": 0}),
    "nsl-kdd-multiclass-official-cnn-gan-s1": ({"R2L": 0}, {"Probe": 0}),
}


# Right R2L rows (of TINY_SPLIT's 8) per classical baseline on every test split: the two differ, so the report must keep
# them apart.
BASELINE_R2L = {"random-forest": 1, "gradient-boosting": 5}


@pytest.fixture
def fake_trainer(monkeypatch) -> FakeTrainer:
    """Every `trainer train` process the runner starts goes to this FakeTrainer instead (see its `ran`)."""
    fake = FakeTrainer()
    monkeypatch.setattr(experiment.subprocess, "call", fake)
    return fake


@pytest.fixture(scope="session")
def tiny_experiment(tmp_path_factory) -> Path:
    """An experiment folder made by the real runner around FakeTrainer: nsl-kdd, both protocols, CNN, four balancings, two seeds.
    Shared: tests may write its report, but must not change its cells."""
    found = experiment.cells(
        ["nsl-kdd"], ["multiclass"], ["official", "random"], ["cnn"], ["none", "ros", "smote", "gan"], [0, 1]
    )
    out = tmp_path_factory.mktemp("tiny") / "experiment"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(experiment.subprocess, "call", FakeTrainer(TINY_OUTCOMES, second_test=True))
        experiment.run_matrix(found, out, out / "data", epochs=1, limit_rows=100, extra=[])
    return out
