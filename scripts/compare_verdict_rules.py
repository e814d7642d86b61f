"""Compare two verdict rules on nsl-kdd models that have a novelty detector, and write the page that says which one
validation supports (reports/verdict-rule/ by default):

- most probable: a record is called its most probable class;
- unknown is attack: a record the detector flags unknown is never called normal, but its most probable attack class
  (preprocess/verdict.py; a model's metadata turns it on with `novelty.unknown_is_attack`).

Each model's validation and test splits are rebuilt from its metrics.json and predicted again with its ONNX graph;
both rules are scored on the same predictions, as 5 classes and as normal against attack (the binary view). Only
validation is summed up into the choice; the test columns are reported beside it.

    python scripts/compare_verdict_rules.py FOLDER... [--data-dir DIR] [--out DIR]

FOLDER: an experiment folder (its cells whose models are kept locally, cells/*/run/; they are not in git), an
experiment cell (reports/*/cells/*/) or a model folder (artifacts/*/).
"""

import argparse
import csv
import json
import shlex
import sys
from pathlib import Path

import numpy as np

from inference import load_model
from preprocess.defaults import data_dir
from preprocess.metadata import MetadataError
from preprocess.verdict import called_classes
from trainer.evaluate import difficulty_weighted_f1, evaluate
from trainer.experiment import model_dir
from trainer.load import DataError
from trainer.prepare import scored_parts

PLAIN, RULE = "most probable", "unknown is attack"
RULES = {PLAIN: False, RULE: True}
SPLITS = ("validation", "test")
SCORES = ("accuracy", "f1_macro", "f1_macro_difficulty_weighted", "binary_accuracy", "binary_f1_macro")
BINARY_SCORES = ("accuracy", "f1_macro", "f1_macro_difficulty_weighted")  # a binary model's own classes are the binary view


def compare(folder: Path, root: Path) -> dict | None:
    """Both rules' scores on the model's validation and test rows; None for a model the rules cannot differ on."""
    name = folder.name
    if (folder / "run").is_dir():
        folder = model_dir(folder)
    metrics = json.loads((folder / "metrics.json").read_text())
    if metrics["config"]["dataset"] != "nsl-kdd" or "novelty" not in metrics:
        return None
    model = load_model(folder)
    classes = model.classes
    normal = classes.index(model.meta.normal_class)
    row = {"model": name, "task": model.meta.task, "validation": metrics["split"]["validation"]["kind"]}
    parts = scored_parts(metrics, root, classes)
    for split in SPLITS:
        part, y_true = parts[split]
        predictions = model.predict_columns(part.columns(), len(part))
        for rule, unknown_is_attack in RULES.items():
            y_pred = called_classes(predictions.probabilities, normal, predictions.unknown, unknown_is_attack)
            scores = evaluate(y_true, y_pred, classes, classes[normal])
            as_binary = evaluate((y_true != normal).astype(int), (y_pred != normal).astype(int), ["normal", "attack"], "normal")
            values = {
                "accuracy": scores["accuracy"],
                "f1_macro": scores["f1_macro"],
                "f1_macro_difficulty_weighted": difficulty_weighted_f1(y_true, y_pred, len(classes), part.difficulty.to_numpy()),
                "binary_accuracy": as_binary["accuracy"],
                "binary_f1_macro": as_binary["f1_macro"],
            }
            row |= {f"{split} {score} ({rule})": value for score, value in values.items()}
    return row


def summary(rows: list[dict]) -> list[str]:
    """Per task and validation kind, in how many models the second rule raised each validation score, and by how much."""
    lines = [
        "| task | validation kind | models | score (validation) | raised by 'unknown is attack' in | mean change |",
        "|---|---|---|---|---|---|",
    ]
    for task, kind in sorted({(r["task"], r["validation"]) for r in rows}):
        group = [r for r in rows if (r["task"], r["validation"]) == (task, kind)]
        for score in SCORES if task == "multiclass" else BINARY_SCORES:
            change = np.array([r[f"validation {score} ({RULE})"] - r[f"validation {score} ({PLAIN})"] for r in group])
            lines.append(
                f"| {task} | {kind} | {len(group)} | {score} | {(change > 0).sum()} of {len(group)} | {change.mean():+.4f} |"
            )
    return lines


def cell_table(rows: list[dict]) -> list[str]:
    lines = [
        "| model | validation kind | split | macro-F1 | difficulty-weighted | binary accuracy |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        for split in SPLITS:
            pairs = [
                f"{r[f'{split} {s} ({PLAIN})']:.3f} -> {r[f'{split} {s} ({RULE})']:.3f}"
                for s in ("f1_macro", "f1_macro_difficulty_weighted", "binary_accuracy")
            ]
            lines.append(f"| {r['model']} | {r['validation']} | {split} | " + " | ".join(pairs) + " |")
    return lines


def write_page(rows: list[dict], out: Path, command: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    with (out / "results.csv").open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    page = [
        "# Verdict rule: is a record the novelty detector flags unknown called an attack?",
        "",
        f"Written by `{command}`. Each model's splits are rebuilt from its metrics.json (its seed and validation kind)",
        "and predicted again with its ONNX graph; both rules are scored on the same predictions. 'most probable': the",
        "classifier's class. 'unknown is attack': a record flagged unknown (the threshold in the model's metadata) is",
        "called its most probable attack class instead of normal. The binary view scores normal against any attack.",
        "The choice reads validation only; the test rows (KDDTest+) are shown beside it and chose nothing. Only held-out",
        "subtypes give validation attack types absent from training, which is what the detector is for; the random part",
        "holds none, so there the rule can only add false alarms.",
        "",
        "## Validation",
        "",
        *summary(rows),
        "",
        "## Each model (most probable -> unknown is attack)",
        "",
        *cell_table(rows),
        "",
    ]
    (out / "README.md").write_text("\n".join(page))
    return out / "README.md"


def model_folders(folders: list[Path]) -> list[Path]:
    """Model folders as given; an experiment folder stands for its cells whose models are kept here (cells/*/run/)."""
    found = []
    for folder in folders:
        if (folder / "cells").is_dir():
            cells = sorted(cell for cell in (folder / "cells").iterdir() if (cell / "run").is_dir())
            print(f"compare_verdict_rules: {folder}: {len(cells)} cells with their models", file=sys.stderr)
            found += cells
        else:
            found.append(folder)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("reports/verdict-rule"))
    args = parser.parse_args(argv)
    rows = []
    try:
        for folder in model_folders(args.folders):
            if row := compare(folder, data_dir(args.data_dir)):
                rows.append(row)
                print(f"compare_verdict_rules: {row['model']} scored", file=sys.stderr, flush=True)
    except (OSError, json.JSONDecodeError, KeyError, MetadataError, DataError) as exc:
        print(f"compare_verdict_rules: {folder}: {exc}", file=sys.stderr)
        return 1
    if not rows:
        print("compare_verdict_rules: no nsl-kdd model with a novelty detector among the folders", file=sys.stderr)
        return 1
    command = shlex.join(["python", "scripts/compare_verdict_rules.py", *(argv if argv is not None else sys.argv[1:])])
    print(f"compare_verdict_rules: wrote {write_page(rows, args.out, command)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
