"""Add the difficulty-weighted macro-F1 (`trainer.evaluate.difficulty_weighted_f1`) to nsl-kdd models trained before
the trainer wrote it: their validation and test splits' entries in metrics.json.

Each model's splits are rebuilt exactly as the trainer built them, from the configuration in its metrics.json, and its
ONNX graph predicts them again; a split whose rebuilt rows or recomputed macro-F1 differ from what metrics.json
records is refused, so the new score describes the same predictions as the recorded ones. Models of other datasets
(no difficulty rating) are skipped.

    python scripts/add_difficulty_scores.py FOLDER... [--data-dir DIR] [--force]

FOLDER: a model folder (holding metrics.json, metadata.json and the ONNX file), for example artifacts/*/, or an
experiment cell (reports/experiment-balance-units/cells/*/): its model's metrics.json and the cell's copy are both updated.
"""

import argparse
import json
import sys
from pathlib import Path

from inference import load_model
from preprocess.defaults import data_dir
from preprocess.metadata import MetadataError
from trainer.config import DIFFICULTY_WEIGHTED
from trainer.evaluate import difficulty_weighted_f1, evaluate
from trainer.experiment import model_dir
from trainer.load import DataError
from trainer.prepare import scored_parts

# The recomputed macro-F1 may differ from the recorded one (Keras's predictions) by ONNX's float rounding on a few rows.
MACRO_F1_TOLERANCE = 1e-3


def add_scores(folder: Path, root: Path, force: bool) -> str:
    copies = [folder / "metrics.json"]  # the files to write the scores into
    if (folder / "run").is_dir():  # an experiment cell: its model's folder, and its own copy of the metrics
        folder = model_dir(folder)
        copies.append(folder / "metrics.json")
    metrics = json.loads((folder / "metrics.json").read_text())
    if metrics["config"]["dataset"] != "nsl-kdd":
        return f"{folder}: {metrics['config']['dataset']} rates no records, skipped"
    if DIFFICULTY_WEIGHTED in metrics["validation"] and not force:
        return f"{folder}: already scored, kept"
    model = load_model(folder)
    classes, normal = model.classes, model.meta.normal_class
    weighted = {}
    for name, (part, y_true) in scored_parts(metrics, root, classes).items():
        recorded = _split_scores(metrics, name)
        if len(part) != recorded["rows"]:
            raise DataError(f"{folder}: the rebuilt {name} split has {len(part)} rows, metrics.json records {recorded['rows']}")
        y_pred = model.predict_columns(part.columns(), len(part)).best
        again = evaluate(y_true, y_pred, classes, normal)["f1_macro"]
        if abs(again - recorded["f1_macro"]) > MACRO_F1_TOLERANCE:
            raise DataError(f"{folder}: {name} macro-F1 recomputed {again:.4f}, metrics.json records {recorded['f1_macro']:.4f}")
        weighted[name] = difficulty_weighted_f1(y_true, y_pred, len(classes), part.difficulty.to_numpy())
    for path in copies:
        copy = json.loads(path.read_text())
        for name, value in weighted.items():
            _split_scores(copy, name)[DIFFICULTY_WEIGHTED] = value
        path.write_text(json.dumps(copy, indent=2))
    return f"{folder}: difficulty-weighted macro-F1, validation {weighted['validation']:.4f}, test {weighted['test']:.4f}"


def _split_scores(metrics: dict, name: str) -> dict:
    return metrics["extra_tests"][name] if name in metrics.get("extra_tests", {}) else metrics[name]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--force", action="store_true", help="recompute models already scored")
    args = parser.parse_args(argv)
    failed = 0
    for folder in args.folders:  # a folder that fails is named and the others still scored
        try:
            print(add_scores(folder, data_dir(args.data_dir), args.force), flush=True)
        except (OSError, json.JSONDecodeError, KeyError, MetadataError, DataError) as exc:
            print(f"add_difficulty_scores: {exc}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
