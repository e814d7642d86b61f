"""PNG figures for a model's report (matplotlib without a display)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


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
        ax.text(j, i, f"{count}\n{share[i, j]:.0%}", ha="center", va="center", fontsize=8, color="white" if share[i, j] > 0.5 else "black")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def history_png(history: dict, title: str, path: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, key in zip(axes, ("loss", "accuracy")):
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
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
