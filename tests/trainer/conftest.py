"""Shared fixtures for the trainer tests."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from trainer.gan import FeatureLayout, GanConfig, gan_oversample

NSL_KDD_20_PERCENT = "nsl-kdd/KDDTrain+_20Percent.txt.gz"  # under the data_dir fixture (tests/conftest.py)
NSL_KDD_CATEGORICAL = (1, 2, 3)  # protocol_type, service, flag
NSL_KDD_LABEL = 41
# (train rows, test rows) per attack name: four frequent classes, pod (above min_class_rows
# after the split) and guess_passwd (10 rows in the file, below it).
NSL_KDD_SAMPLE = {"normal": (1200, 300), "neptune": (800, 200), "ipsweep": (400, 100), "satan": (400, 100), "pod": (30, 8), "guess_passwd": (10, 0)}
# normal is already above its target and must get nothing; guess_passwd is too small for the GAN.
GAN_TARGETS = {"pod": 300, "ipsweep": 600, "guess_passwd": 100, "normal": 1000}
GAN_TINY_BUDGET = GanConfig(epochs=5, max_seconds=20, seed=7)


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
