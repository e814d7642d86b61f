"""`artifacts/README.md`: the shipped models' measured results, written from their metrics.json files."""

import json
from pathlib import Path


def _pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def baselines_of(metrics: dict) -> dict[str, dict]:
    """A run's classical baselines, name -> result; a run written before gradient boosting joined holds the forest
    alone, as "baseline"."""
    if "baselines" in metrics:
        return metrics["baselines"]
    return {"random-forest": metrics["baseline"]} if "baseline" in metrics else {}


def write_summary(root: Path) -> Path:
    lines = [
        "# Shipped models",
        "",
        "Written by the trainer from each model's `metrics.json` (do not edit by hand). Percentages;",
        "test = the held-out test split of the protocol named (nsl-kdd official: KDDTest+), never used to choose a model.",
        "",
        "| model | balancing | protocol | test accuracy | macro-F1 | weighted F1 | false alarms | recall per class | 2nd test set accuracy | classical anchors: accuracy / macro-F1 | fit time | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    commands = []
    for path in sorted(root.glob("*/metrics.json")):
        m = json.loads(path.read_text())
        test = m["test"]
        recall = ", ".join(f"{c} {_pct(v['recall'])}" for c, v in test["per_class"].items())
        extra = "; ".join(f"{name}: {_pct(t['accuracy'])}" for name, t in m.get("extra_tests", {}).items()) or "n/a"
        anchors = baselines_of(m)
        scores = (f"{name}: {_pct(b['test']['accuracy'])} / {_pct(b['test']['f1_macro'])}" for name, b in anchors.items())
        forest_text = "; ".join(scores) or "not run"
        lines.append(
            f"| {m['model_id']} | {m['balancing']['method']} (target {m['balancing']['target']}) | {m['split']['protocol']} "
            f"| {_pct(test['accuracy'])} | {_pct(test['f1_macro'])} | {_pct(test['f1_weighted'])} | {_pct(test['false_alarm_rate'])} "
            f"| {recall} | {extra} | {forest_text} | {m['training']['fit_seconds']:.0f} s ({m['training']['epochs_run']} epochs) "
            f"| {m['training']['peak_rss_mb']:.0f} MB |"
        )
        commands.append(f"- `{m['model_id']}`: `{m['command']}` (seed {m['split']['seed']}, files {', '.join(m['split']['files'])})")
    lines += ["", "Produced by:", "", *commands, ""]
    page = root / "README.md"
    page.write_text("\n".join(lines))
    return page
