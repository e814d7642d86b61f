"""How much of a test split repeats its training split exactly, and how each model does on the repeats and on the rest.

A stratified random split of a flow dataset with few distinct flows (NF-BoT-IoT-v2) puts most test rows beside a
training row with the same value in every model column, and the same label: there a score measures recall of the
training data more than detection. The rows no training row matches show what a model makes of traffic it has not
seen. The page gives, per shipped multiclass model and for the random forest and boosted trees fitted on the same
training split, accuracy, macro-F1 and per-class recall on both parts of the test split and on all of it, and how many
training rows each model's encoding makes indistinguishable from a row of another label. Where the dataset names
timing columns (durations and rates), a *training lookup* row reads each new row's label off the training rows equal
to it in every other column: a reference for what the rest of a new row's values say about its label.

    python -m trainer overlap [--artifacts artifacts] [--out reports/overlap]
"""

import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from inference import load_model
from trainer.baseline import BASELINES
from trainer.datasets import DATASETS
from trainer.evaluate import evaluate
from trainer.report.common import markdown_row, number
from trainer.splits import model_splits

PARTS = ("repeated", "new", "all")
LOOKUP = "training lookup"  # the row of `training_lookup`, no model


def row_keys(frame: pd.DataFrame) -> np.ndarray:
    """One 64-bit hash per row of its values (numbers as float64, anything else as text), so rows read with other
    dtypes (an integer column read as float) still match."""
    plain = pd.DataFrame(
        {c: frame[c].astype("float64") if pd.api.types.is_numeric_dtype(frame[c]) else frame[c].astype(str) for c in frame}
    )
    return pd.util.hash_pandas_object(plain, index=False).to_numpy()


def repeated_rows(train: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    """Per row of `rows`: whether some training row has the same values in all of `rows`' columns."""
    return np.isin(row_keys(rows), row_keys(train[list(rows.columns)]))


def most_common_labels(train: pd.DataFrame, train_labels: pd.Series, rows: pd.DataFrame) -> pd.Series:
    """Per row of `rows`: the most common label of the training rows with the same values in all of `rows`' columns,
    NaN where there are none."""
    counted = pd.DataFrame({"key": row_keys(train[list(rows.columns)]), "label": train_labels.to_numpy()}).value_counts()
    common = counted.reset_index().drop_duplicates("key").set_index("key")["label"]  # value_counts: most common first
    return pd.Series(row_keys(rows)).map(common)


def training_label_agreement(train: pd.DataFrame, train_labels: pd.Series, rows: pd.DataFrame, labels: pd.Series) -> float:
    """Of the repeated rows, the share whose label is the most common label of their values in training: what a
    lookup of the training data would get right."""
    looked_up = most_common_labels(train, train_labels, rows)
    repeated = looked_up.notna().to_numpy()
    return float((looked_up[repeated].to_numpy() == labels.to_numpy()[repeated]).mean()) if repeated.any() else float("nan")


def training_lookup(
    train: pd.DataFrame, train_labels: pd.Series, rows: pd.DataFrame, timing: tuple[str, ...], fallback: np.ndarray
) -> tuple[np.ndarray, int]:
    """Labels read off the training split, no model: a row's most common training label among the rows equal in
    every column, else among those equal in every column but the `timing` ones, else `fallback`'s label; and how
    many rows took the fallback."""
    exact = most_common_labels(train, train_labels, rows)
    untimed = most_common_labels(train, train_labels, rows.drop(columns=list(timing)))
    looked_up = exact.fillna(untimed)
    return looked_up.fillna(pd.Series(fallback)).to_numpy(), int(looked_up.isna().sum())


def encoding_collisions(encoded: np.ndarray, labels: np.ndarray) -> int:
    """Training rows whose encoded values equal those of a training row with another label: rows the encoding made
    indistinguishable (float32 min-max scaling can merge values far apart in a wide column)."""
    frame = pd.DataFrame({"key": pd.util.hash_pandas_object(pd.DataFrame(encoded), index=False).to_numpy(), "label": labels})
    mixed = frame.groupby("key")["label"].transform("nunique") > 1
    return int(mixed.sum())


def part_scores(truth: np.ndarray, predicted: np.ndarray, repeated: np.ndarray, classes: list[str], normal: str) -> dict:
    """Rows, rows called wrong, accuracy, macro-F1 (over the classes a part holds) and per-class recall on each part
    and on the whole split."""
    index = {c: i for i, c in enumerate(classes)}
    scores = {}
    for part, rows in zip(PARTS, (repeated, ~repeated, np.ones_like(repeated)), strict=True):
        present = [c for c in classes if (truth[rows] == c).any()]
        y = np.array([index[c] for c in truth[rows]], dtype=np.intp)
        p = np.array([index[c] for c in predicted[rows]], dtype=np.intp)
        result = evaluate(y, p, classes, normal) if len(y) else None
        scores[part] = {
            "rows": int(rows.sum()),
            "errors": int((truth[rows] != predicted[rows]).sum()),
            "accuracy": result and result["accuracy"],
            "f1_macro": result and float(np.mean([result["per_class"][c]["f1"] for c in present])),
            "recall": {c: result["per_class"][c]["recall"] for c in present} if result else {},
        }
    return scores


def analyse(artifacts: Path, data_dir: Path) -> dict:
    """dataset -> the test split's overlap and every shipped multiclass model's (and the baselines') part scores."""
    index = json.loads((artifacts / "index.json").read_text())
    datasets: dict[str, dict] = {}
    defaults = index["dataset_defaults"]
    references: dict[str, tuple] = {}  # dataset -> its default model, splits, repeated rows, encodings and calls
    for entry in index["models"]:
        folder = artifacts / entry["path"]
        metrics = json.loads((folder / "metrics.json").read_text())
        if metrics["config"]["task"] != "multiclass":
            continue  # binary models answer normal or attack: their parts are the same rows, scored coarser
        model = load_model(folder)
        splits = model_splits(metrics, data_dir)
        columns = [f.name for f in model.meta.features]
        test, train = splits.test, splits.train
        repeated = repeated_rows(train.features, test.features[columns])
        if entry["dataset"] not in datasets:
            datasets[entry["dataset"]] = {
                "test_source": test.source,
                "split": {k: metrics["split"][k] for k in ("files", "protocol", "seed")},
                "test_rows": len(test),
                "repeated_share": float(repeated.mean()),
                "lookup_right": training_label_agreement(train.features, train.labels, test.features[columns], test.labels),
                "baselines_encoded_by": defaults.get(entry["dataset"]),
                "models": {},
                "collisions": {},
            }
        encoded_train, encoded_test = _encoded(model, train), _encoded(model, test)
        predicted = np.asarray(model.predict_encoded(encoded_test).labels)
        if entry["id"] == defaults.get(entry["dataset"]):
            references[entry["dataset"]] = model, splits, repeated, encoded_train, encoded_test, predicted
        truth = test.labels.to_numpy()
        datasets[entry["dataset"]]["models"][entry["id"]] = part_scores(
            truth, predicted, repeated, model.classes, model.meta.normal_class
        )
        datasets[entry["dataset"]]["collisions"][entry["id"]] = encoding_collisions(encoded_train, train.labels.to_numpy())
    for name, dataset in datasets.items():
        if name in references:
            model, splits, repeated, encoded_train, encoded_test, predicted = references[name]
            dataset["models"] |= _baselines(model, splits, repeated, encoded_train, encoded_test)
            if DATASETS[name].timing_columns:
                timing = DATASETS[name].timing_columns
                dataset["models"][LOOKUP], dataset["lookup"] = _lookup_reference(model, splits, repeated, predicted, timing)
    return datasets


def _encoded(model, part) -> np.ndarray:
    """A split's rows as the model's preprocessor encodes them."""
    columns = {f.name: part.features[f.name].to_numpy() for f in model.meta.features}
    return model.preprocessor.transform_columns(columns, len(part))


def _baselines(model, splits, repeated: np.ndarray, X_train: np.ndarray, X_test: np.ndarray) -> dict:
    """The trainer's classical anchors, fitted on the training split as the dataset's default model encodes it."""
    results = {}
    for name, (_, make) in BASELINES.items():
        predicted = make(splits.description["seed"]).fit(X_train, splits.train.labels.to_numpy()).predict(X_test)
        truth = splits.test.labels.to_numpy()
        results[name] = part_scores(truth, predicted, repeated, model.classes, model.meta.normal_class)
    return results


def _lookup_reference(model, splits, repeated, default_calls: np.ndarray, timing: tuple[str, ...]) -> tuple[dict, dict]:
    """The `training_lookup` row (what the training labels alone say, beside the models on the same rows), and how
    it was read."""
    columns = [f.name for f in model.meta.features]
    train, test = splits.train, splits.test
    called, fell_back = training_lookup(train.features[columns], train.labels, test.features[columns], timing, default_calls)
    scores = part_scores(test.labels.to_numpy(), called, repeated, model.classes, model.meta.normal_class)
    return scores, {"timing_columns": list(timing), "fell_back_rows": fell_back}


def markdown(datasets: dict, command: str, seconds: float) -> str:
    lines = [
        "# Test rows that repeat a training row",
        "",
        f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `{command}` in {seconds:.0f} s"
        f" ({platform.machine()}, Python {platform.python_version()}). Each shipped multiclass model's test split is"
        " rebuilt from its metrics.json (files, protocol, seed as listed); a test row is *repeated* when a row of the"
        " same training split has the same value in every column the model reads, *new* otherwise. Baselines: the"
        " trainer's random forest and boosted trees, fitted here on the same training split (unbalanced).",
        "",
    ]
    for name, d in datasets.items():
        lines += [
            f"## {name}: {d['test_source']}",
            "",
            f"Split: files {', '.join(d['split']['files'])}; protocol {d['split']['protocol']}; seed {d['split']['seed']}."
            f" {d['test_rows']:,} test rows, of which {d['repeated_share']:.1%} repeat a training row; on those, the"
            f" most common training label of the same values is the right label for {d['lookup_right']:.1%}. Baselines"
            f" encoded as {d['baselines_encoded_by']}.",
            "",
        ]
        classes = sorted({c for m in d["models"].values() for part in m.values() for c in part["recall"]})
        lines.append(markdown_row(["model", "part", "rows", "wrong", "accuracy", "macro-F1", *(f"recall {c}" for c in classes)]))
        lines.append(markdown_row(["---"] * (6 + len(classes))))
        for model_id, parts in d["models"].items():
            for part, s in parts.items():
                scores = [f"{s['rows']:,}", f"{s['errors']:,}", number(s["accuracy"]), number(s["f1_macro"])]
                lines.append(markdown_row([model_id, part, *scores, *(number(s["recall"].get(c)) for c in classes)]))
        collided = [f"{model_id} {n:,}" for model_id, n in d["collisions"].items()]
        if "lookup" in d:
            lines += ["", _lookup_text(d["lookup"], d["baselines_encoded_by"])]
        lines += [
            "",
            "Training rows whose encoding (the model's scaling, in float32) equals that of a training row with another"
            f" label, so no model reading it can tell them apart: {'; '.join(collided)}.",
            "",
        ]
    return "\n".join(lines)


def _lookup_text(lookup: dict, default: str) -> str:
    return (
        f"*{LOOKUP}* is no model: a repeated row gets the most common training label of its values; a new row gets the"
        " most common label of the training rows equal to it in every column but the timing ones"
        f" ({', '.join(lookup['timing_columns'])}), and the {lookup['fell_back_rows']:,} new rows that match no training"
        f" row that way get {default}'s call. Where a model does no better than it on the new rows, what the model reads"
        " in those rows' timing values does not carry over to traffic it has not seen."
    )


def write(artifacts: Path, data_dir: Path, out: Path, command: str) -> Path:
    began = time.perf_counter()
    datasets = analyse(artifacts, data_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(datasets, indent=1) + "\n")
    (out / "README.md").write_text(markdown(datasets, command, time.perf_counter() - began) + "\n")
    return out / "README.md"
