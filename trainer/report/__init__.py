"""`trainer report`: an experiment folder's README.md and figures, from its results.csv and cells.

Every number on the page is read from results.csv and the cells' metrics.json. Choosing (the best model whose
confusion matrix is shown) uses the validation split only; test results are reported, never used to choose.
The page is assembled here from its parts: `header` (how the experiment ran), `prose` (the generated reading),
`tables` (tables and figures) and `common` (what they share). Promoting chosen cells into artifacts/ is
`trainer.artifacts.promote`.
"""

from pathlib import Path

from trainer.datasets import DATASETS
from trainer.report.common import MAIN_SPLIT, keys_of, load, rare_classes, select, split_label, splits_of, support_of
from trainer.report.header import header
from trainer.report.prose import reading
from trainer.report.tables import best_model, class_counts, cost_table, fidelity, method_bars, performance_table


def write_report(out: Path) -> Path:
    """Write <out>/README.md and <out>/figures/ from <out>/results.csv and <out>/cells/; return the page's path."""
    results, finished = load(out)
    figures = out / "figures"
    figures.mkdir(exist_ok=True)
    for stale in figures.glob("*.png"):  # every figure is redrawn; one for a cell set that changed must not linger
        stale.unlink()
    rare = {key: rare_classes(finished, *key) for key in keys_of(results, ["dataset", "task"])}
    page = [
        *header(out, finished),
        "## Reading (generated from the numbers below)",
        "",
        *reading(results, rare),
    ]
    for dataset, task, protocol in keys_of(results, ["dataset", "task", "protocol"]):
        page += [f"## {dataset} · {task} · {protocol} protocol", ""]
        for number, split in enumerate(splits_of(results, dataset, task, protocol)):
            frame = select(results, dataset=dataset, task=task, protocol=protocol, split=split)
            classes, normal = rare[(dataset, task)], DATASETS[dataset].normal_class[task]
            support = support_of(finished, dataset, task, protocol, split)
            # Numbered, not named after the split: a split is named after its data file, a figure must not be.
            figure = (
                figures / f"methods-{dataset}-{task}-{protocol}-{'test' if split == MAIN_SPLIT else f'extra-test-{number}'}.png"
            )
            title = f"{dataset} {task}, {protocol} protocol, {split_label(split)}: mean over seeds, whiskers one std"
            method_bars(frame, classes, title, figure)
            page += [
                f"### {split_label(split)}",
                "",
                *performance_table(frame, classes, support),
                "",
                "Mean ± sample standard deviation over seeds (a single seed shows its value alone); precision, recall and F1"
                " are weighted by class support, macro-F1 weighs every class equally. Test rows: "
                + ", ".join(f"{c} {support.get(c, '0')}" for c in [normal, *classes])
                + f" ({normal} rows are the false-alarm rate's base).",
                "",
                f"![balancing methods compared]({figure.relative_to(out)})",
                "",
            ]
        page += best_model(out, finished, dataset, task, protocol, figures)
    page += class_counts(out, finished, figures)
    page += fidelity(out, finished, figures)
    page += cost_table(finished)
    path = out / "README.md"
    path.write_text("\n".join(page) + "\n")
    return path
