"""The page's tables and the figures beside them: methods compared per test split, the best model's confusion
matrix, training rows per class, GAN fidelity, and training cost."""

from pathlib import Path

import pandas as pd

from preprocess.defaults import ARCHITECTURES, BALANCINGS, PROTOCOLS
from trainer import plots
from trainer.artifacts import SCORE_NAMES, TIE_BREAK, choose, selection_key
from trainer.config import validation_kind
from trainer.report.common import (
    ARCH_LABELS,
    BALANCING_LABELS,
    BASELINES,
    DECIMALS,
    average,
    cells_of,
    column,
    dig,
    headline_metrics,
    markdown_row,
    mean_std,
    model_label,
    models_in,
    number,
    ordered,
    rank,
    select,
    unit_label,
)
from trainer.report.prose import validation_predicts_test

# The weighted scores the performance tables of the balancing literature report, in their column order.
WEIGHTED_METRICS = {"accuracy": "Accuracy", "f1_weighted": "F1", "recall_weighted": "Recall", "precision_weighted": "Precision"}


def performance_table(frame: pd.DataFrame, rare: list[str], support: dict[str, str]) -> list[str]:
    """The balancing literature's performance table (rows "CNN - SMOTE", ...; weighted accuracy/F1/recall/precision),
    with macro-F1, false-alarm rate and the rare classes' recall beside it. `frame`: the results rows of one test split."""
    header = ["Model", "Seeds", *WEIGHTED_METRICS.values(), "Macro-F1", "False-alarm rate", *(f"{c} recall" for c in rare)]
    lines = [markdown_row(header), markdown_row(["---"] * len(header))]
    for architecture, balancing in models_in(frame):
        rows = select(frame, architecture=architecture, balancing=balancing)
        row = [model_label(architecture, balancing), str(rows["seed"].nunique())]
        row += [mean_std(rows[m]) for m in [*WEIGHTED_METRICS, "f1_macro", "false_alarm_rate"]]
        row += [mean_std(column(rows, f"recall_{c}")) if support.get(c) else "no test rows" for c in rare]
        lines.append(markdown_row(row))
    return lines


def method_bars(frame: pd.DataFrame, rare: list[str], title: str, path: Path) -> None:
    panels = {}
    for metric, name in headline_metrics(rare).items():
        series = {}
        for architecture, balancing in models_in(frame):
            if architecture not in BASELINES:
                values = column(select(frame, architecture=architecture, balancing=balancing), metric).dropna()
                bars = series.setdefault(ARCH_LABELS.get(architecture, architecture), {})
                bars[BALANCING_LABELS.get(balancing, balancing)] = (values.mean(), values.std())
        panels[name] = series
    plots.method_bars_png(panels, title, path)


def best_model(out: Path, finished: list[dict], dataset: str, task: str, protocol: str, figures: Path) -> list[str]:
    """Per validation kind (its scores are comparable only among cells validated alike), the cell it would choose."""
    cells = cells_of(finished, dataset=dataset, task=task, protocol=protocol)
    kinds = sorted({validation_kind(m) for m in cells})
    lines = []
    for kind in kinds:
        candidates = [m for m in cells if validation_kind(m) == kind]
        best, key = choose(candidates), selection_key(candidates)
        score = SCORE_NAMES[key]
        cell = best["cell"]
        named = f" ({kind} validation)" if len(kinds) > 1 else ""
        figure = figures / f"confusion-{dataset}-{task}-{protocol}{f'-{kind}' if named else ''}.png"
        plots.confusion_matrix_png(best["test"], f"{cell['name']} (best validation {score}), on the test split", figure)
        lines += [
            f"### Best model by validation {score}{named}",
            "",
            f"{model_label(cell['architecture'], cell['balancing'])}{unit_label(cell.get('balance_by'))}, seed {cell['seed']}:"
            f" validation {score}"
            f" {best['validation'][key]:.{DECIMALS}f} (chosen among {len(candidates)} cells; {TIE_BREAK})."
            f" Its test"
            f" macro-F1 is {best['test']['f1_macro']:.{DECIMALS}f}. {validation_predicts_test(candidates, best)}"
            " Confusion matrix on the test split:",
            "",
            f"![confusion matrix]({figure.relative_to(out)})",
            "",
        ]
    return lines


def class_counts(out: Path, finished: list[dict], figures: Path) -> list[str]:
    """Balancing does not depend on the architecture, so one protocol and seed per dataset and task shows it."""
    lines = ["## Training rows per class before and after balancing", ""]
    for dataset, task in sorted({(m["cell"]["dataset"], m["cell"]["task"]) for m in finished}):
        ours = cells_of(finished, dataset=dataset, task=task)
        first = min(
            ours,
            key=lambda m: (
                rank(m["cell"]["protocol"], PROTOCOLS),
                m["cell"]["seed"],
                rank(m["cell"]["architecture"], ARCHITECTURES),
            ),
        )["cell"]
        same_run = cells_of(ours, protocol=first["protocol"], architecture=first["architecture"], seed=first["seed"])
        shown = {m["cell"]["balancing"]: m["balancing"] for m in same_run}
        series = {"before balancing": same_run[0]["balancing"]["counts_before"]}
        series |= {BALANCING_LABELS.get(b, b): shown[b]["counts_after"] for b in ordered(shown, BALANCINGS) if b != "none"}
        where = f"{first['protocol']} protocol, seed {first['seed']}"
        figure = figures / f"class-counts-{dataset}-{task}.png"
        plots.bar_chart_png(series, f"{dataset} {task}: training rows per class ({where})", figure)
        before = series["before balancing"]
        lines += [
            f"### {dataset} · {task} ({where})",
            "",
            markdown_row(["Class", *series]),
            markdown_row(["---"] * (len(series) + 1)),
        ]
        lines += [
            markdown_row([c, *(str(counts.get(c, 0)) for counts in series.values())])
            for c in sorted(before, key=lambda c: -before[c])
        ]
        lines += ["", f"![class counts]({figure.relative_to(out)})", ""]
        fallbacks = sorted(
            {(m["cell"]["balancing"], c, why) for m in ours for c, why in m["balancing"].get("fallbacks", {}).items()}
        )
        if fallbacks:
            lines += ["Fallbacks (a class too small for the method, in any cell):", ""]
            lines += [f"- {BALANCING_LABELS.get(b, b)}, {c}: {why}" for b, c, why in fallbacks] + [""]
    return lines


def fidelity(out: Path, finished: list[dict], figures: Path) -> list[str]:
    """GAN fidelity per dataset/task/protocol/method, averaged over the cells that measured it (seeds, architectures)."""
    groups: dict[tuple, list[dict]] = {}
    for m in finished:
        if dig(m["balancing"], "gan", "fidelity"):
            groups.setdefault(tuple(m["cell"][k] for k in ("dataset", "task", "protocol", "balancing")), []).append(
                m["balancing"]["gan"]
            )
    lines = ["## GAN fidelity", ""]
    if not groups:
        return [*lines, "No cell measured GAN fidelity (no gan or hybrid balancing ran, or its report holds no fidelity).", ""]
    distances = {
        "ks_mean": "KS mean",
        "ks_max": "KS max",
        "wasserstein_mean": "Wasserstein mean",
        "tv_mean": "TV mean",
        "tv_max": "TV max",
    }
    arms = {"synthetic": "trained on synthetic", "real": "trained on real"}
    for (dataset, task, protocol, balancing), gans in sorted(groups.items()):
        reports = [gan["fidelity"] for gan in gans]
        classes = sorted({c for r in reports for c in r.get("per_class", {})})
        distance = {
            c: {name: average(dig(r, "per_class", c, key) for r in reports) for key, name in distances.items()} for c in classes
        }
        recall = {
            c: {name: average(dig(r, "tstr", arm, "recall", c) for r in reports) for arm, name in arms.items()} for c in classes
        }
        accuracy = {name: average(dig(r, "tstr", arm, "accuracy") for r in reports) for arm, name in arms.items()}
        synthetic = {c: average(dig(r, "per_class", c, "n_synthetic") for r in reports) for c in classes}
        label = f"{dataset} {task}, {protocol} protocol, {BALANCING_LABELS.get(balancing, balancing)}"
        figure = figures / f"fidelity-{dataset}-{task}-{protocol}-{balancing}.png"
        means = {c: {name: v for name, v in d.items() if "max" not in name} for c, d in distance.items()}
        plots.fidelity_png(means, recall, f"GAN fidelity: {label}", figure)
        header = ["Class", "Synthetic rows", *distances.values(), *(f"recall, {name}" for name in arms.values())]
        seconds, epochs = (number(average(g.get(k) for g in gans), decimals=0) for k in ("trained_seconds", "epochs_run"))
        trained = f"GAN trained {seconds} s, {epochs} epochs"
        lines += [f"### {label} ({len(gans)} cell{'s' * (len(gans) != 1)}; {trained}, mean over them)", ""]
        lines += [markdown_row(header), markdown_row(["---"] * len(header))]
        for c in classes:
            lines.append(
                markdown_row([c, f"{synthetic[c]:.0f}", *map(number, distance[c].values()), *map(number, recall[c].values())])
            )
        lines += [
            "",
            "Distances per feature between synthetic and real rows of the class (0: the same distribution). Recall on real"
            " held-out rows of a random forest trained on the synthetic rows, against one trained on as many real rows;"
            " accuracy: " + ", ".join(f"{name} {number(value)}" for name, value in accuracy.items()) + ".",
            "",
            f"![GAN fidelity]({figure.relative_to(out)})",
            "",
        ]
    return lines


def cost_table(finished: list[dict]) -> list[str]:
    header = ["Cell", "Balancing (s)", "Fit (s)", "Epochs", "Total (s)", "Peak memory (MB)"]
    lines = ["## Training time and peak memory per cell", "", markdown_row(header), markdown_row(["---"] * len(header))]
    for m in sorted(finished, key=lambda m: m["cell"]["name"]):
        t = m["training"]
        values = [m["balancing"]["seconds"], t["fit_seconds"], t["epochs_run"], t["total_seconds"], t["peak_rss_mb"]]
        lines.append(markdown_row([m["cell"]["name"], *map(str, values)]))
    return [*lines, "", "Peak memory is the peak resident set size of the cell's own process."]
