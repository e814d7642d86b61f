"""Whole `trainer train` runs, recipe against recipe, timed in the same run: the recipe the shipped NSL-KDD 5-class CNN
(or CNN+LSTM, `--arch cnn-lstm`) was trained with (`before`) against the fast one (`fast`), start to finish and with
their KDDTest+ and validation results.

    python -m bench.training_recipes [--arch cnn] [--seeds 0] [--recipes before fast] [--fast-cap 0.4] [--limit-rows N]

Each run is one `trainer train` process timed by the wall clock from start to exit (TensorFlow's import, loading,
encoding, balancing, fitting, the novelty detector, evaluation, ONNX export and its parity check), without the
classical anchors (`--no-baseline`; they are report rows, not the model). One round per seed (`--seed` of the
trainer: split, resampling and initial weights), alternating the recipes so the machine's load falls on both alike;
with several seeds the summary gives each recipe's mean and range, so "equal results" can be read against the spread
from the seed alone. Writes bench/results/training_recipes.json and .md
(`_cnn-lstm` for the CNN+LSTM; `_cap<X>` for a fast recipe at a cap other than FAST_CAP, as in the sweep that chose it).
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import report
from bench.records import DATA_DIR, REPO
from trainer.__main__ import SHIPPED, SHIPPED_BALANCING

# The common part of every recipe: the nsl-kdd 5-class model on the official protocol, KDDTest+ as its test.
MODEL = ["--dataset", "nsl-kdd", "--task", "multiclass", "--no-baseline"]
ARCHS = ("cnn", "cnn-lstm")
# Chosen by validation macro-F1 among the caps whose CNN runs fit in 2 minutes on this machine:
# `--recipes fast --fast-cap 0.3` (and 0.5) `--seeds 0 1 2` beside the default run.
FAST_CAP = 0.4


def recipes(arch: str, cap: float = FAST_CAP) -> dict[str, list[str]]:
    """name -> its options. `before`: the shipped model's (`trainer ship`'s table); `fast`: the same balancing after
    the classes above `cap` of the majority are under-sampled to it (the same class mix in that share of the rows),
    stopped after 2 epochs without progress."""
    epochs, options = next(
        (e, o) for d, t, a, e, o in SHIPPED if (d, t, a) == ("nsl-kdd", "multiclass", arch) and not o.get("forest_trees")
    )
    balancing, target = SHIPPED_BALANCING["nsl-kdd"]
    validation = ["--validation", options["validation"]] if "validation" in options else []
    stopping = ["--epochs", str(epochs), "--patience", "2"]
    return {
        "before": ["--balance", balancing, "--balance-target", str(target), "--epochs", str(epochs), *validation],
        "fast": ["--balance", balancing, "--balance-target", str(target), "--balance-cap", str(cap), *stopping, *validation],
    }


def run_recipe(arch: str, name: str, cap: float, seed: int, out: Path, limit_rows: int | None) -> dict:
    options = [*MODEL, "--arch", arch, *recipes(arch, cap)[name], "--seed", str(seed)]
    command = [sys.executable, "-m", "trainer", "train", *options, "--data-dir", str(DATA_DIR), "--out", str(out)]
    command += ["--limit-rows", str(limit_rows)] if limit_rows else []
    started = time.perf_counter()
    finished = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if finished.returncode != 0:
        raise RuntimeError(f"recipe {name} failed: {finished.stderr[-800:]}")
    metrics = json.loads((out / f"nsl-kdd-multiclass-{arch}" / "metrics.json").read_text())
    test, training = metrics["test"], metrics["training"]
    return {
        "recipe": name,
        "seed": seed,
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
    runs, arch = results["runs"], results["settings"]["arch"]
    first = {r["recipe"]: r["wall_seconds"] for r in reversed(runs)}  # each recipe's first round: the ratio's baseline
    rows = [
        [
            r["round"],
            r["seed"],
            r["recipe"],
            r["wall_seconds"],
            round(r["wall_seconds"] / first["before"], 2) if "before" in first else "-",
            r["fit_seconds"],
            r["epochs_run"],
            r["balanced_rows"],
            round(r["test_accuracy"], 4),
            round(r["test_f1_macro"], 4),
            round(r["validation_f1_macro"], 4),
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
                [
                    "round",
                    "seed",
                    "recipe",
                    "wall s",
                    "ratio",
                    "fit s",
                    "epochs",
                    "rows",
                    "test acc",
                    "macro-F1",
                    "val macro-F1",
                    "recall",
                ],
                rows,
            ),
            "\nBy recipe over the seeds, mean (min - max):\n",
            report.table(["recipe", "runs", "wall s", "test acc", "macro-F1", "val macro-F1"], _summary(runs)),
            "\nRecipes (common part: `" + " ".join([*MODEL, "--arch", arch]) + "`):\n",
            *[
                f"- `{name}`: `{' '.join(recipes(arch, results['settings']['fast_cap'])[name])}`"
                for name in results["settings"]["recipes"]
            ],
        ]
    )


def _summary(runs: list[dict]) -> list[list]:
    def spread(values: list[float], digits: int) -> str:
        return f"{statistics.mean(values):.{digits}f} ({min(values):.{digits}f} - {max(values):.{digits}f})"

    rows = []
    for name in dict.fromkeys(r["recipe"] for r in runs):
        mine = [r for r in runs if r["recipe"] == name]
        columns = [("wall_seconds", 0), ("test_accuracy", 3), ("test_f1_macro", 3), ("validation_f1_macro", 3)]
        rows.append([name, len(mine), *(spread([r[key] for r in mine], digits) for key, digits in columns)])
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="cnn", choices=ARCHS)
    parser.add_argument("--recipes", nargs="+", default=["before", "fast"], choices=["before", "fast"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], help="one round per seed")
    parser.add_argument("--fast-cap", type=float, default=FAST_CAP, help="the fast recipe's --balance-cap")
    parser.add_argument("--limit-rows", type=int, help="a stratified sample of each file (smoke runs)")
    parser.add_argument("--out", type=Path, default=report.RESULTS)
    args = parser.parse_args(argv)
    if not 0 < args.fast_cap < 1:
        parser.error(f"--fast-cap must be between 0 and 1, got {args.fast_cap}")
    settings = {"arch": args.arch, "recipes": args.recipes, "seeds": args.seeds, "fast_cap": args.fast_cap}
    results = {"context": report.context(), "settings": settings, "runs": []}
    with tempfile.TemporaryDirectory(prefix="bench-recipes-") as tmp:
        for round_, seed in enumerate(args.seeds):
            for name in args.recipes if round_ % 2 == 0 else reversed(args.recipes):
                run = run_recipe(args.arch, name, args.fast_cap, seed, Path(tmp) / f"{name}-{round_}", args.limit_rows)
                results["runs"].append({"round": round_ + 1} | run)
                print(f"bench.training_recipes: round {round_ + 1}, {name}: {run['wall_seconds']} s", file=sys.stderr, flush=True)
    name = "training_recipes" + ("" if args.arch == "cnn" else f"_{args.arch}")
    name += "" if args.fast_cap == FAST_CAP else f"_cap{args.fast_cap:g}"
    report.write(name, results, markdown(results), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
