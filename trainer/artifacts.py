"""The artifacts folder: `artifacts/index.json` (every model folder, and the default model per dataset and task), and
promotion of an experiment's chosen cells into it.

Every choice is the model with the best score on the validation split, never on the test split. Among an experiment's
cells of one architecture (balancings, losses, seeds): the difficulty-weighted macro-F1 where every candidate has one
(nsl-kdd: `trainer.evaluate.difficulty_weighted_f1`), which ranked such cells as KDDTest+ does better than macro-F1
(reports/experiment-balance-units, reports/experiment-difficulty-check); else, and between architectures (the index's
defaults, where that ranking was not measured), macro-F1.
"""

import json
import shutil
from pathlib import Path

from trainer.config import DIFFICULTY_WEIGHTED
from trainer.experiment import finished_cells, model_dir

SELECTION_RULE = "highest {score} on the validation split (test results are never used to choose)"
SCORE_NAMES = {DIFFICULTY_WEIGHTED: "difficulty-weighted macro-F1", "f1_macro": "macro-F1"}
TIE_BREAK = "ties go to the lower seed, then the balancing name in alphabetical order"


def selection_key(candidates: list[dict]) -> str:
    """The validation score these candidates (metrics.json contents) are compared on: the difficulty-weighted macro-F1
    when every one has it, else macro-F1."""
    return DIFFICULTY_WEIGHTED if all(DIFFICULTY_WEIGHTED in m["validation"] for m in candidates) else "f1_macro"


def selection_rule(key: str) -> str:
    return SELECTION_RULE.format(score=SCORE_NAMES[key])


def update_index(root: Path) -> dict:
    models, selections = [], {}
    for meta_path in sorted(root.glob("*/metadata.json")):
        meta = json.loads(meta_path.read_text())
        metrics = json.loads((meta_path.parent / "metrics.json").read_text())
        models.append(
            {
                "id": meta["model_id"],
                "path": meta_path.parent.name,
                "dataset": meta["dataset"],
                "task": meta["task"],
                "architecture": meta["architecture"],
                "balancing": meta["balancing"]["method"],
                "validation_f1_macro": metrics["validation"]["f1_macro"],
            }
        )
        if "selection" in metrics:  # promoted from an experiment by promote()
            selections[meta["model_id"]] = metrics["selection"]
    defaults = {}
    for m in models:
        key = f"{m['dataset']}/{m['task']}"
        if key not in defaults or m["validation_f1_macro"] > defaults[key]["validation_f1_macro"]:
            defaults[key] = m
    # A request that names only a dataset gets its multiclass default: it says which attack, not just whether.
    by_dataset = {}
    for key in sorted(defaults, key=lambda k: k.endswith("/multiclass")):
        by_dataset[key.split("/")[0]] = defaults[key]["id"]
    index = {
        "format_version": 1,
        "models": models,
        "dataset_defaults": dict(sorted(by_dataset.items())),
        "defaults": {key: {"model": m["id"], "why": _why(m, selections.get(m["id"]))} for key, m in sorted(defaults.items())},
    }
    (root / "index.json").write_text(json.dumps(index, indent=2) + "\n")
    return index


def _why(model: dict, selection: dict | None) -> str:
    why = f"{selection_rule('f1_macro')}: {model['validation_f1_macro']:.4f}"
    if selection:
        tried = sum(len(seeds) for seeds in selection["candidates"].values())
        seeds = sorted({int(s) for by_seed in selection["candidates"].values() for s in by_seed})
        score = next(iter(selection.get("validation_score", {})), "f1_macro")  # promoted before the weighted score: macro-F1
        why += (
            f"; promoted from experiment cell {selection['cell']} ({selection['experiment']}),"
            f" the best of {tried} official-protocol cells of its architecture"
            f" (balancing {', '.join(selection['candidates'])}; seeds {', '.join(map(str, seeds))})"
            f" by highest validation {SCORE_NAMES[score]}"
        )
    return why


def promote(out: Path, artifacts: Path) -> dict:
    """Per dataset, task and architecture, copy the official-protocol cell with the best validation macro-F1 into
    artifacts/<dataset>-<task>-<architecture>/, record why in its metrics.json, and refresh artifacts/index.json."""
    finished = finished_cells(out)
    groups: dict[tuple, list[dict]] = {}
    for metrics in finished:
        cell = metrics["cell"]
        if cell["protocol"] == "official":
            groups.setdefault((cell["dataset"], cell["task"], cell["architecture"]), []).append(metrics)
    if not groups:
        raise ValueError(f"{out}: no finished official-protocol cells to promote")
    artifacts.mkdir(parents=True, exist_ok=True)
    selections = {}
    for (dataset, task, architecture), candidates in sorted(groups.items()):
        best, score = choose(candidates), selection_key(candidates)
        chosen = best["cell"]
        selection = {
            "rule": f"{selection_rule(score)}, among the official-protocol cells of this dataset, task and architecture;"
            f" {TIE_BREAK}",
            "experiment": str(out.resolve()),
            "cell": chosen["name"],
            "balancing": chosen["balancing"],
            "seed": chosen["seed"],
            "validation_f1_macro": best["validation"]["f1_macro"],
            "validation_score": {score: best["validation"][score]},
            "candidates": {},
        }
        for m in sorted(candidates, key=lambda m: (m["cell"]["balancing"], m["cell"]["seed"])):
            selection["candidates"].setdefault(m["cell"]["balancing"], {})[str(m["cell"]["seed"])] = m["validation"][score]
        target = artifacts / f"{dataset}-{task}-{architecture}"
        # Staged beside the target and swapped in whole, so a failed copy never leaves a half-replaced model.
        staging = target.with_name(target.name + ".promoting")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(model_dir(out / "cells" / chosen["name"]), staging)
        metrics = json.loads((staging / "metrics.json").read_text())
        metrics["selection"] = selection
        (staging / "metrics.json").write_text(json.dumps(metrics, indent=2))
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        selections[target.name] = selection
    update_index(artifacts)
    return selections


def choose(candidates: list[dict]) -> dict:
    """The cell with the highest validation score (`selection_key`); ties go to the lower seed, then the balancing name."""
    score = selection_key(candidates)

    def rank(m: dict) -> tuple:
        return -m["validation"][score], m["cell"]["seed"], m["cell"]["balancing"], m["cell"]["architecture"]

    return min(candidates, key=rank)
