"""`artifacts/README.md`: the shipped models' measured results, written from their metrics.json files."""

import json
from pathlib import Path

from trainer.datasets import DATASETS


def _pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def balancing_text(balancing: dict) -> str:
    """A run's balancing report (metrics.json `balancing`) in a few words: method, target and cap where there is one."""
    cap = f", cap {balancing['cap']}" if balancing.get("cap") else ""
    return f"{balancing['method']} (target {balancing['target']}{cap})"


def baselines_of(metrics: dict) -> dict[str, dict]:
    """A run's classical baselines, name -> result; a run written before gradient boosting joined holds the forest
    alone, as "baseline"."""
    if "baselines" in metrics:
        return metrics["baselines"]
    return {"random-forest": metrics["baseline"]} if "baseline" in metrics else {}


def _caught(found: dict) -> str:
    return f"{_pct(found['caught'])} ({_pct(found['called_attack'])}) of {found['rows']}"


def alert_accuracy(scores: dict, normal: str) -> float | None:
    """The share of a split's records the alert decision gets right, taking an alert (called attack or flagged unknown)
    as the verdict "attack": what a normal-or-attack reader of the alerts sees."""
    found, rows = scores.get("alerts"), scores["rows"]
    if not found or found["attack_caught"] is None or found["normal_alerted"] is None:
        return None
    normal_rows = scores["per_class"][normal]["support"]
    return (normal_rows * (1 - found["normal_alerted"]) + (rows - normal_rows) * found["attack_caught"]) / rows


def _budget(metrics: dict) -> str:
    novelty = metrics.get("novelty")
    return f"{_pct(novelty['budget'])} {novelty.get('budget_of', 'flagged')}" if novelty else "no detector"


def write_summary(root: Path) -> Path:
    lines = [
        "# Shipped models",
        "",
        "Written by the trainer from each model's `metrics.json` (do not edit by hand). Percentages;",
        "test = the held-out test split of the protocol named (nsl-kdd official: KDDTest+), never used to choose a model.",
        'A model marked "unknown is attack" calls a record its novelty detector flags unknown an attack, never normal',
        "(`--unknown-is-attack`); its scores are of that verdict, as the service answers.",
        "",
        "| model | balancing | protocol | test accuracy | macro-F1 | weighted F1 | false alarms | recall per class"
        " | 2nd test set accuracy | classical anchors: accuracy / macro-F1 | fit time | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    alert_header = [
        "",
        "## Alerts: called attack or flagged unknown",
        "",
        "A record raises an alert when the model calls it an attack or its novelty detector flags it unknown. Unseen attacks:",
        "the split's attack types (raw labels) absent from the model's training split, caught = alerted (called attack by the",
        "classifier alone, as its most probable class).",
        "Detector budget: the share of normal validation records its threshold lets it flag, or lets raise an alert in all",
        "(`--alert-budget`). Alert accuracy: the share of records the alert decision gets right, an alert read as attack.",
        "",
        "| model | detector budget | split | normal flagged unknown | normal alerted | attacks caught | alert accuracy"
        " | unseen attacks caught (called attack) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    alert_lines, unseen_lines = [], []
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
            f"| {m['model_id']}{' (unknown is attack)' if m.get('novelty', {}).get('unknown_is_attack') else ''}"
            f" | {balancing_text(m['balancing'])} | {m['split']['protocol']} "
            f"| {_pct(test['accuracy'])} | {_pct(test['f1_macro'])} | {_pct(test['f1_weighted'])} "
            f"| {_pct(test['false_alarm_rate'])} "
            f"| {recall} | {extra} | {forest_text} | {m['training']['fit_seconds']:.0f} s ({m['training']['epochs_run']} epochs) "
            f"| {m['training']['peak_rss_mb']:.0f} MB |"
        )
        for split, scores in [("validation", m["validation"]), ("test", test), *m.get("extra_tests", {}).items()]:
            found = scores.get("alerts")
            if found:
                unseen = found.get("unseen_attacks")
                unseen_text = _caught(unseen) if unseen else "none"
                normal = DATASETS[m["config"]["dataset"]].normal_class[m["config"]["task"]]
                alert_lines.append(
                    f"| {m['model_id']} | {_budget(m)} | {split} | {_pct(found['normal_flagged_unknown'])}"
                    f" | {_pct(found['normal_alerted'])} | {_pct(found['attack_caught'])}"
                    f" | {_pct(alert_accuracy(scores, normal))} | {unseen_text} |"
                )
        per_type = test.get("alerts", {}).get("unseen_attack_types")
        if per_type:
            listed = ", ".join(f"{name} {_caught(t)}" for name, t in per_type.items())
            unseen_lines.append(f"- `{m['model_id']}`, test, per unseen attack type, caught (called attack) of rows: {listed}")
        commands.append(
            f"- `{m['model_id']}`: `{m['command']}` (seed {m['split']['seed']}, files {', '.join(m['split']['files'])})"
        )
    if alert_lines:  # models trained before alerts were measured have none
        lines += alert_header + alert_lines + (["", *unseen_lines] if unseen_lines else [])
    lines += ["", "Produced by:", "", *commands, ""]
    page = root / "README.md"
    page.write_text("\n".join(lines))
    return page
