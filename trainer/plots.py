"""PNG figures for a model's report (matplotlib without a display)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def confusion_matrix_png(metrics: dict, title: str, path: Path) -> None:
    labels = metrics["confusion_matrix"]["labels"]
    matrix = np.array(metrics["confusion_matrix"]["rows_true_columns_predicted"])
    share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.2 * len(labels) + 2, 1.0 * len(labels) + 1.5))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(
            j,
            i,
            f"{count}\n{share[i, j]:.0%}",
            ha="center",
            va="center",
            fontsize=8,
            color="white" if share[i, j] > 0.5 else "black",
        )
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def history_png(history: dict, title: str, path: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, key in zip(axes, ("loss", "accuracy"), strict=False):
        ax.plot(history[key], label="train")
        ax.plot(history[f"val_{key}"], label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.legend()
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def bar_chart_png(counts: dict[str, dict[str, int]], title: str, path: Path) -> None:
    """Grouped bars: one group per class, one bar per series (e.g. split or before/after balancing)."""
    series = list(counts)
    classes = sorted({c for s in counts.values() for c in s})
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(classes)), 3.6))
    for i, name in enumerate(series):
        ax.bar(np.arange(len(classes)) + i * width, [counts[name].get(c, 0) for c in classes], width, label=name)
    ax.set_xticks(np.arange(len(classes)) + width * (len(series) - 1) / 2, classes, rotation=20, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("rows (log scale)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))  # beside the bars: many series would hide them
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def method_bars_png(panels: dict[str, dict[str, dict[str, tuple[float, float]]]], title: str, path: Path) -> None:
    """One panel per metric; in each, one group per method and one bar per series, with std error bars.

    panels: {metric: {series (e.g. architecture): {method: (mean, std)}}}. A NaN std (one seed) draws no error bar.
    """
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False)
    for ax, (metric, series) in zip(axes[0], panels.items(), strict=False):
        methods = list(dict.fromkeys(m for values in series.values() for m in values))
        width = 0.8 / len(series)
        for i, (name, values) in enumerate(series.items()):
            means = [values.get(m, (np.nan, np.nan))[0] for m in methods]
            errors = np.nan_to_num([values.get(m, (np.nan, np.nan))[1] for m in methods])
            ax.bar(np.arange(len(methods)) + i * width, means, width, yerr=errors, capsize=3, label=name)
        ax.set_xticks(np.arange(len(methods)) + width * (len(series) - 1) / 2, methods, rotation=20, ha="right")
        ax.set_ylim(0, 1.05)
        ax.set_title(metric, fontsize=10)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def fidelity_png(
    distances: dict[str, dict[str, float]], tstr_recall: dict[str, dict[str, float]], title: str, path: Path
) -> None:
    """GAN fidelity per class: marginal distances (left, lower is closer to real) and train-on-synthetic/test-on-real
    recall (right).

    Both are {class: {series: value}}, e.g. {"R2L": {"KS mean": 0.2, ...}} and {"R2L": {"trained on synthetic": 0.4, ...}}.
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, groups, ylabel in (
        (axes[0], distances, "distance (0 = same as real)"),
        (axes[1], tstr_recall, "recall on real held-out rows"),
    ):
        classes = list(groups)
        series = list(dict.fromkeys(s for values in groups.values() for s in values))
        width = 0.8 / max(len(series), 1)
        for i, name in enumerate(series):
            heights = [groups[c].get(name) for c in classes]
            ax.bar(np.arange(len(classes)) + i * width, [np.nan if h is None else h for h in heights], width, label=name)
        ax.set_xticks(np.arange(len(classes)) + width * (len(series) - 1) / 2, classes, rotation=20, ha="right")
        ax.set_ylim(0, 1.05)
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
