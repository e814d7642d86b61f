"""`artifacts/index.json`: every model folder, and the default model per dataset and task.

The default per dataset and task is the model with the best macro-F1 on the validation split, never on the test split.
"""

import json
from pathlib import Path

SELECTION_RULE = "highest macro-F1 on the validation split (test results are never used to choose)"


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
        if "selection" in metrics:  # promoted from an experiment by trainer.report.promote
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
        "defaults": {
            key: {"model": m["id"], "why": _why(m, selections.get(m["id"]))} for key, m in sorted(defaults.items())
        },
    }
    (root / "index.json").write_text(json.dumps(index, indent=2) + "\n")
    return index


def _why(model: dict, selection: dict | None) -> str:
    why = f"{SELECTION_RULE}: {model['validation_f1_macro']:.4f}"
    if selection:
        tried = sum(len(seeds) for seeds in selection["candidates"].values())
        seeds = sorted({int(s) for by_seed in selection["candidates"].values() for s in by_seed})
        why += (
            f"; promoted from experiment cell {selection['cell']} ({selection['experiment']}), the best of {tried} official-protocol"
            f" cells of its architecture (balancing {', '.join(selection['candidates'])}; seeds {', '.join(map(str, seeds))}) by the same rule"
        )
    return why
