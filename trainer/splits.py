"""Stratified, seeded train / validation / test splits for each dataset and protocol.

nsl-kdd, official protocol: train on KDDTrain+ less a validation part, test on KDDTest+, and report
KDDTest-21 as a second test set. The validation part is, by default ("subtypes"), whole attack subtypes
held out of KDDTrain+ plus a stratified random share of the rest, so that it holds attacks training
lacks as KDDTest+ does (see `hold_out_subtypes`); "random" is the stratified random share alone.
nsl-kdd, random protocol (the one behind the 0.99
figures in the literature): KDDTrain+ and KDDTest+ pooled, stratified 80/20, then validation from
the 80. Other datasets: stratified train / validation / test of their files.
"""

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from preprocess.defaults import PROTOCOLS, VALIDATIONS
from trainer.config import default_validation, validation_kind
from trainer.datasets import DATASETS, DatasetSpec
from trainer.load import DataError, Labeled, load

VALIDATION_SHARE = 0.1
TEST_SHARE = 0.2
# "subtypes" validation: per attack family, whole subtypes summing to about this share of the family's rows.
SUBTYPE_SHARE = 0.1


@dataclass
class Splits:
    train: Labeled
    validation: Labeled
    test: Labeled
    extra_tests: dict[str, Labeled] = field(default_factory=dict)
    description: dict = field(default_factory=dict)

    def by_name(self) -> dict[str, Labeled]:
        """Every split by the name metrics.json gives it: train, validation, test, then each extra test file."""
        return {"train": self.train, "validation": self.validation, "test": self.test} | self.extra_tests


def _concat(parts: list[Labeled], source: str) -> Labeled:
    rated = all(p.difficulty is not None for p in parts)
    return Labeled(
        pd.concat([p.features for p in parts], ignore_index=True),
        pd.concat([p.labels for p in parts], ignore_index=True),
        source,
        pd.concat([p.subtypes for p in parts], ignore_index=True),
        pd.concat([p.difficulty for p in parts], ignore_index=True) if rated else None,
    )


def hold_out_subtypes(data: Labeled, normal: str, share: float, seed: int) -> dict[str, dict[str, int]]:
    """Which whole subtypes to hold out: family -> {subtype: rows}.

    Rule, per attack family (never the normal class): its subtypes other than its largest (so the family keeps
    rows to learn from), in an order shuffled with `seed`, each taken when it brings the held-out rows closer to
    `share` of the family's rows. A family with one subtype holds none out.
    """
    rng = np.random.default_rng(seed)
    chosen = {}
    for family in sorted(set(data.labels) - {normal}):
        counts = data.subtypes[data.labels == family].value_counts()
        counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")  # ties: by name
        candidates = sorted(counts.index[1:])
        target, taken = share * counts.sum(), {}
        for subtype in rng.permutation(candidates):
            held = sum(taken.values())
            if abs(held + counts[subtype] - target) < abs(held - target):
                taken[str(subtype)] = int(counts[subtype])
        if taken:
            chosen[family] = dict(sorted(taken.items()))
    return chosen


def _validation_split(data: Labeled, kind: str, normal: str, seed: int) -> tuple[Labeled, Labeled, dict]:
    """(train, validation, description) of the training file."""
    if kind == "random":
        train, validation = _split(data, VALIDATION_SHARE, seed)
        return train, validation, {"kind": kind, "random_share": VALIDATION_SHARE}
    held = hold_out_subtypes(data, normal, SUBTYPE_SHARE, seed)
    is_held = data.subtypes.isin({s for subtypes in held.values() for s in subtypes}).to_numpy()
    rest = data.take(np.flatnonzero(~is_held))
    train, random_part = _split(rest, VALIDATION_SHARE, seed)
    validation = _concat([data.take(np.flatnonzero(is_held)), random_part], data.source)
    description = {
        "kind": kind,
        "rule": "per attack family, whole subtypes other than the largest, in an order shuffled by the seed, each taken when"
        f" it brings the held-out rows closer to {SUBTYPE_SHARE:g} of the family; plus a stratified random"
        f" {VALIDATION_SHARE:g} of the rest",
        "subtype_share": SUBTYPE_SHARE,
        "random_share": VALIDATION_SHARE,
        "held_out_subtypes": held,
        "held_out_rows": int(is_held.sum()),
    }
    return train, validation, description


def _stratify(labels: pd.Series) -> pd.Series | None:
    """Stratify where every class can appear on both sides; a singleton class cannot."""
    return labels if labels.value_counts().min() >= 2 else None


def _split(data: Labeled, share: float, seed: int) -> tuple[Labeled, Labeled]:
    rows = np.arange(len(data))
    keep, held = train_test_split(rows, test_size=share, random_state=seed, stratify=_stratify(data.labels))
    return data.take(np.sort(keep)), data.take(np.sort(held))


def sample_rows(data: Labeled, limit: int | None, seed: int, class_floor: int = 0) -> Labeled:
    """A stratified subsample of `limit` rows, for quick runs and tests.

    A stratified sample keeps each class's share, so a rare class shrinks with the sample (25,000 of
    KDDTrain+'s 125,973 rows hold 10 of its 52 U2R rows). `class_floor` tops every class up to that
    many rows (or all it has), at the cost of a few rows beyond `limit`.
    """
    if limit is None or len(data) <= limit:
        return data
    keep, _ = train_test_split(np.arange(len(data)), train_size=limit, random_state=seed, stratify=_stratify(data.labels))
    kept = np.zeros(len(data), dtype=bool)
    kept[keep] = True
    labels = data.labels.to_numpy()
    rng = np.random.default_rng(seed)
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        missing = min(class_floor, len(rows)) - int(kept[rows].sum())
        if missing > 0:
            kept[rng.choice(rows[~kept[rows]], missing, replace=False)] = True
    return data.take(np.flatnonzero(kept))


def make_splits(
    spec: DatasetSpec,
    task: str,
    data_dir: Path,
    protocol: str = "official",
    seed: int = 0,
    files: list[Path] | None = None,
    limit_rows: int | None = None,
    class_floor: int = 0,
    validation_kind: str | None = None,
) -> Splits:
    """`validation_kind`: one of VALIDATIONS, None for the dataset and protocol's default (`default_validation`)."""
    validation_kind = validation_kind or default_validation(spec.name, protocol)
    if validation_kind not in VALIDATIONS:
        raise DataError(f"unknown validation {validation_kind!r}: use one of {', '.join(VALIDATIONS)}")
    if validation_kind == "subtypes" and (spec.name != "nsl-kdd" or protocol != "official"):
        raise DataError("--validation subtypes applies to nsl-kdd's official protocol only (its test file has new subtypes)")
    validation_description = {"kind": "random", "random_share": VALIDATION_SHARE}
    paths = [Path(p) for p in files] if files else [Path(data_dir) / f for f in spec.default_files]
    if spec.name == "nsl-kdd":
        if len(paths) < 2:
            raise DataError("nsl-kdd needs a training file and a test file (KDDTrain+, KDDTest+[, KDDTest-21])")
        train_full, *tests = [sample_rows(load(spec, task, p), limit_rows, seed, class_floor) for p in paths]
        if protocol == "official":
            normal = spec.normal_class[task]
            train, validation, validation_description = _validation_split(train_full, validation_kind, normal, seed)
            test, extra = tests[0], {t.source: t for t in tests[1:]}
        elif protocol == "random":
            pooled = _concat([train_full, tests[0]], f"{train_full.source}+{tests[0].source}")
            rest, test = _split(pooled, TEST_SHARE, seed)
            train, validation = _split(rest, VALIDATION_SHARE / (1 - TEST_SHARE), seed)
            extra = {}
        else:
            raise DataError(f"unknown protocol {protocol!r}: use one of {', '.join(PROTOCOLS)}")
    else:
        if protocol != "official":
            raise DataError(f"--protocol applies to nsl-kdd only; {spec.name} always uses a stratified random split")
        pooled = _concat([load(spec, task, p) for p in paths], "+".join(p.name for p in paths))
        pooled = sample_rows(pooled, limit_rows, seed, class_floor)
        rest, test = _split(pooled, TEST_SHARE, seed)
        train, validation = _split(rest, VALIDATION_SHARE / (1 - TEST_SHARE), seed)
        extra = {}

    description = {
        "files": [p.name for p in paths],
        "protocol": protocol,
        "seed": seed,
        "limit_rows": limit_rows,
        "class_floor": class_floor,
        "validation": validation_description,
        "rows": {"train": len(train), "validation": len(validation), "test": len(test)}
        | {name: len(t) for name, t in extra.items()},
        "class_counts": {
            "train": train.labels.value_counts().to_dict(),
            "validation": validation.labels.value_counts().to_dict(),
            "test": test.labels.value_counts().to_dict(),
        },
    }
    return Splits(train, validation, test, extra, description)


@cache
def splits_of_model(config: tuple[tuple[str, object], ...], validation_kind: str, data_dir: Path) -> Splits:
    """A trained model's splits rebuilt as the trainer built them, from the `config` of its metrics.json (as sorted
    items, so calls with the same settings share one load) and the validation kind its split records."""
    settings = dict(config)
    task = settings["task"]
    return make_splits(
        DATASETS[settings["dataset"]],
        "multiclass" if task == "binary" else task,  # binary models learn the attack families (trainer.config)
        data_dir,
        settings["protocol"],
        settings["seed"],
        None,
        settings["limit_rows"],
        settings.get("class_floor", 0),
        validation_kind,
    )


def model_splits(metrics: dict, data_dir: Path) -> Splits:
    """`splits_of_model` for one model's metrics.json."""
    keys = ("dataset", "task", "protocol", "seed", "limit_rows", "class_floor")
    config = tuple(sorted((k, metrics["config"].get(k, 0)) for k in keys))
    return splits_of_model(config, validation_kind(metrics), Path(data_dir))
