"""What every part of the report page shares: the experiment folder's results, selections of them, labels and number
formats."""

from collections import Counter
from dataclasses import fields
from pathlib import Path

import pandas as pd

from preprocess.defaults import ARCHITECTURES, BALANCE_UNITS, BALANCINGS, LOSSES, PROTOCOLS, SCALINGS
from trainer.config import default_validation
from trainer.datasets import DATASETS
from trainer.experiment import Cell, finished_cells

ARCH_LABELS = {"cnn": "CNN", "cnn-lstm": "CNN + LSTM"}
BALANCING_LABELS = {"none": "None", "ros": "ROS", "smote": "SMOTE", "adasyn": "ADASYN", "gan": "GAN", "hybrid": "Data Balancing"}
# The classical baselines, by the architecture experiment.write_results gives their rows, in the order they are shown.
BASELINE_LABELS = {"random-forest": "Random forest (baseline)", "gradient-boosting": "Gradient-boosted trees (baseline)"}
BASELINES = tuple(BASELINE_LABELS)
MAIN_SPLIT = "test"
# The rare classes shown beside each table: this many attack classes with the fewest training rows. A share
# threshold cannot work: NF-BoT-IoT-v2's Reconnaissance holds about the same share of rows as NSL-KDD's Probe.
RARE_CLASSES_SHOWN = 2
DECIMALS = 3
CELL_FIELDS = tuple(f.name for f in fields(Cell))


def rare_classes(finished: list[dict], dataset: str, task: str) -> list[str]:
    """The task's attack classes with the fewest training rows (before balancing, summed over the cells), in the
    dataset's class order. A binary task has one attack class; its models train on families, so it has no count."""
    ours = cells_of(finished, dataset=dataset, task=task)
    counts = Counter()
    for m in ours:
        counts.update(m["split"]["class_counts"]["train"])
    attacks = {c for m in ours for c in m["test"]["per_class"]} - {DATASETS[dataset].normal_class[task]}
    rarest = sorted(attacks, key=lambda c: (counts[c], c))[:RARE_CLASSES_SHOWN]
    return ordered(rarest, DATASETS[dataset].classes(task))


def mean_std(values: pd.Series) -> str:
    values = values.dropna()
    if values.empty:
        return "–"
    if len(values) == 1:
        return f"{values.iloc[0]:.{DECIMALS}f}"
    return f"{values.mean():.{DECIMALS}f} ± {values.std():.{DECIMALS}f}"  # pandas' std is the sample std (ddof=1)


def load(out: Path) -> tuple[pd.DataFrame, list[dict]]:
    path = out / "results.csv"
    if not path.is_file():
        raise ValueError(f"{path}: not found; run `trainer experiment --out {out}` first")
    results = pd.read_csv(path)
    finished = finished_cells(out)
    if results.empty or not finished:
        raise ValueError(f"{out}: no finished cells to report on")
    return _variants_named(_without_empty_recalls(results, finished)), finished


def _variants_named(results: pd.DataFrame) -> pd.DataFrame:
    """The tables key a model on architecture and balancing; balancing by subtype, a loss other than cross-entropy, a
    scaling other than the default and a validation kind other than the protocol's default are part of the model too, so
    they join the balancing's name ("SMOTE by subtype + focal")."""
    results = results.copy()
    names = [BALANCING_LABELS.get(b, b) for b in results["balancing"]]
    for i, row in enumerate(results.itertuples(index=False)):
        loss, validation = getattr(row, "loss", LOSSES[0]), getattr(row, "validation", None)
        names[i] += unit_label(getattr(row, "balance_by", BALANCE_UNITS[0]))
        if isinstance(loss, str) and loss not in (LOSSES[0], ""):
            names[i] += f" + {loss}"
        scaling = getattr(row, "scaling", SCALINGS[0])
        if isinstance(scaling, str) and scaling not in (SCALINGS[0], ""):
            names[i] += f" + {scaling} scaling"
        if isinstance(validation, str) and validation != default_validation(row.dataset, row.protocol):
            names[i] += f" ({validation} validation)"
    changed = [name != BALANCING_LABELS.get(b, b) for name, b in zip(names, results["balancing"], strict=False)]
    results.loc[changed, "balancing"] = [n for n, c in zip(names, changed, strict=False) if c]
    return results


def unit_label(unit: object) -> str:
    """ " by subtype" for balancing by a unit other than the default; nothing for the default or no unit (the baselines)."""
    return f" by {unit}" if isinstance(unit, str) and unit not in (BALANCE_UNITS[0], "") else ""


def _without_empty_recalls(results: pd.DataFrame, finished: list[dict]) -> pd.DataFrame:
    """A class with no rows in a test split has no recall there; evaluate() writes 0 for it, which would read as a miss."""
    support = {}
    for m in finished:
        cell = m["cell"]
        for split, scores in ({MAIN_SPLIT: m["test"]} | m.get("extra_tests", {})).items():
            for c, values in scores["per_class"].items():
                support[(cell["dataset"], cell["task"], cell["protocol"], cell["seed"], split, c)] = values["support"]
    rows = list(zip(results["dataset"], results["task"], results["protocol"], results["seed"], results["split"], strict=False))
    results = results.copy()
    for c in {key[-1] for key in support}:
        if f"recall_{c}" in results:
            empty = [support.get((*row, c)) == 0 for row in rows]
            results.loc[empty, f"recall_{c}"] = float("nan")
    return results


def support_of(finished: list[dict], dataset: str, task: str, protocol: str, split: str) -> dict[str, str]:
    """Rows per class in a test split, as "489", or "480–492" when the seeds' samples differ."""
    seen: dict[str, set[int]] = {}
    for m in cells_of(finished, dataset=dataset, task=task, protocol=protocol):
        scores = m["test"] if split == MAIN_SPLIT else m.get("extra_tests", {}).get(split, {})
        for c, values in scores.get("per_class", {}).items():
            seen.setdefault(c, set()).add(values["support"])
    return {c: (str(min(v)) if len(v) == 1 else f"{min(v)}–{max(v)}") for c, v in seen.items() if max(v) > 0}


def headline_metrics(rare: list[str]) -> dict[str, str]:
    """The numbers balancing is meant to move: macro-F1 and the rare classes' recall (results.csv column -> name)."""
    return {"f1_macro": "macro-F1"} | {f"recall_{c}": f"{c} recall" for c in rare}


def models_in(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """(architecture, balancing) in the order preprocess.defaults lists them, the baseline last; unknown names after
    known ones."""
    pairs = set(zip(frame["architecture"], frame["balancing"], strict=False))
    architectures = ordered({a for a, _ in pairs} - set(BASELINES), ARCHITECTURES)
    neural = [(a, b) for a in architectures for b in ordered({b for x, b in pairs if x == a}, BALANCINGS)]
    return neural + ordered((p for p in pairs if p[0] in BASELINES), [(b, "none") for b in BASELINES])


def model_label(architecture: str, balancing: str) -> str:
    if architecture in BASELINES:  # fitted without balancing; a validation kind other than the default is named
        return BASELINE_LABELS[architecture] + (f", {balancing}" if balancing != "none" else "")
    return f"{ARCH_LABELS.get(architecture, architecture)} - {BALANCING_LABELS.get(balancing, balancing)}"


def split_label(split: str) -> str:
    return "test split" if split == MAIN_SPLIT else split.split(".")[0]


def splits_of(results: pd.DataFrame, dataset: str, task: str, protocol: str) -> list[str]:
    found = set(select(results, dataset=dataset, task=task, protocol=protocol)["split"])
    return [MAIN_SPLIT] * (MAIN_SPLIT in found) + sorted(found - {MAIN_SPLIT})


def keys_of(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    return sorted(set(frame[columns].itertuples(index=False, name=None)), key=lambda k: tuple(rank(v, PROTOCOLS) for v in k))


def select(frame: pd.DataFrame, **equal) -> pd.DataFrame:
    mask = pd.Series(True, index=frame.index)
    for column, value in equal.items():
        mask &= frame[column] == value
    return frame[mask]


def column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame else pd.Series(dtype=float)


def cells_of(finished: list[dict], **equal) -> list[dict]:
    """The finished cells' metrics whose cell has every given field value."""
    return [m for m in finished if all(m["cell"][k] == v for k, v in equal.items())]


def dig(nested: dict, *keys):
    """nested[k1][k2]..., or None where a level is missing (the GAN's report is optional and still evolving)."""
    for key in keys:
        nested = nested.get(key) if isinstance(nested, dict) else None
    return nested


def rank(value, known) -> tuple:
    return (known.index(value) if value in known else len(known), value)


def ordered(values, known) -> list:
    return sorted(values, key=lambda v: rank(v, known))


def average(values) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def number(value: float | None, decimals: int = DECIMALS) -> str:
    return "–" if value is None else f"{value:.{decimals}f}"


def markdown_row(values: list[str]) -> str:
    return "| " + " | ".join(values) + " |"
