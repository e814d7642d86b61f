"""Whole `trainer train` runs, recipe against recipe, timed in the same run: the recipe the shipped NSL-KDD 5-class CNN
was trained with (`before`) against the fast one (`fast`), start to finish and with their KDDTest+ results.

    python -m bench.training_recipes [--rounds 1] [--recipes before fast] [--limit-rows N]

Each run is one `trainer train` process timed by the wall clock from start to exit (TensorFlow's import, loading,
encoding, balancing, fitting, the novelty detector, evaluation, ONNX export and its parity check), without the
classical anchors (`--no-baseline`; they are report rows, not the model). Rounds alternate the recipes so the machine's
load falls on both alike. Writes bench/results/training_recipes.json and .md.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import report
from bench.records import DATA_DIR, REPO

# The common part of every recipe: the nsl-kdd 5-class CNN on the official protocol, KDDTest+ as its test.
MODEL = ["--dataset", "nsl-kdd", "--task", "multiclass", "--arch", "cnn", "--no-baseline"]
RECIPES = {
    # artifacts/nsl-kdd-multiclass-cnn's command (SMOTE to the majority, 30 epochs, patience 4), random validation as then
    "before": ["--balance", "smote", "--balance-target", "1.0", "--epochs", "30", "--validation", "random"],
    # minorities filled to a quarter of the majority (half the rows per epoch), stopped after 2 epochs without progress
    "fast": ["--balance", "smote", "--balance-target", "0.25", "--epochs", "10", "--patience", "2", "--validation", "random"],
}


def run_recipe(name: str, out: Path, limit_rows: int | None) -> dict:
    command = [sys.executable, "-m", "trainer", "train", *MODEL, *RECIPES[name], "--data-dir", str(DATA_DIR), "--out", str(out)]
    command += ["--limit-rows", str(limit_rows)] if limit_rows else []
    started = time.perf_counter()
    finished = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if finished.returncode != 0:
        raise RuntimeError(f"recipe {name} failed: {finished.stderr[-800:]}")
    metrics = json.loads((out / "nsl-kdd-multiclass-cnn" / "metrics.json").read_text())
    test, training = metrics["test"], metrics["training"]
    return {
        "recipe": name,
        "wall_seconds": round(wall, 1),
        "fit_seconds": training["fit_seconds"],
        "epochs_run": training["epochs_run"],
        "balanced_rows": sum(metrics["balancing"]["counts_after"].values()),
        "test_accuracy": test["accuracy"],
        "test_f1_macro": test["f1_macro"],
        "recall": {c: v["recall"] for c, v in test["per_class"].items()},
        "validation_f1_macro": metrics["validation"]["f1_macro"],
        "command": metrics["command"],
    }


def markdown(results: dict) -> str:
    runs = results["runs"]
    first = {r["recipe"]: r["wall_seconds"] for r in reversed(runs)}  # each recipe's first round: the ratio's baseline
    rows = [
        [
            r["round"],
            r["recipe"],
            r["wall_seconds"],
            round(r["wall_seconds"] / first["before"], 2) if "before" in first else "-",
            r["fit_seconds"],
            r["epochs_run"],
            r["balanced_rows"],
            round(r["test_accuracy"], 4),
            round(r["test_f1_macro"], 4),
            ", ".join(f"{c} {v:.3f}" for c, v in r["recall"].items()),
        ]
        for r in runs
    ]
    return "\n".join(
        [
            report.header("Training recipes, start to finish", results["context"]),
            "One `trainer train` process per run, wall clock from start to exit; test = KDDTest+ (never used to choose)."
            " Ratio: wall time over the `before` recipe's first round.\n",
            report.table(
                ["round", "recipe", "wall s", "ratio", "fit s", "epochs", "rows fitted", "test acc", "macro-F1", "recall"],
                rows,
            ),
            "\nRecipes (common part: `" + " ".join(MODEL) + "`):\n",
            *[f"- `{name}`: `{' '.join(RECIPES[name])}`" for name in results["settings"]["recipes"]],
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=RECIPES)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--limit-rows", type=int, help="a stratified sample of each file (smoke runs)")
    parser.add_argument("--out", type=Path, default=report.RESULTS)
    args = parser.parse_args(argv)
    results = {"context": report.context(), "settings": {"recipes": args.recipes, "rounds": args.rounds}, "runs": []}
    with tempfile.TemporaryDirectory(prefix="bench-recipes-") as tmp:
        for round_ in range(args.rounds):
            for name in args.recipes if round_ % 2 == 0 else reversed(args.recipes):
                run = run_recipe(name, Path(tmp) / f"{name}-{round_}", args.limit_rows)
                results["runs"].append({"round": round_ + 1} | run)
                print(f"bench.training_recipes: round {round_ + 1}, {name}: {run['wall_seconds']} s", file=sys.stderr, flush=True)
    report.write("training_recipes", results, markdown(results), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
