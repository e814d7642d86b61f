"""`trainer explore`: class distribution and feature summaries per dataset and split, as Markdown + PNG."""

from pathlib import Path

import pandas as pd

from trainer import plots
from trainer.datasets import DATASETS
from trainer.splits import make_splits


def _feature_table(frame: pd.DataFrame, spec) -> str:
    rows = ["| feature | kind | missing | min | median | max | distinct |", "|---|---|---|---|---|---|---|"]
    for column in spec.features:
        values = frame[column]
        if column in spec.categorical:
            top = ", ".join(f"{k} ({v})" for k, v in values.value_counts().head(3).items())
            rows.append(f"| {column} | categorical | {values.isna().sum()} | | top: {top} | | {values.nunique()} |")
        else:
            rows.append(
                f"| {column} | numeric | {values.isna().sum()} | {values.min():.6g} | {values.median():.6g}"
                f" | {values.max():.6g} | {values.nunique()} |"
            )
    return "\n".join(rows)


def explore(data_dir: Path, out: Path, limit_rows: int | None = None) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# Data exploration", "", f"Data directory: `{data_dir}`. Regenerate with `python -m trainer explore`.", ""]
    for spec in DATASETS.values():
        splits = make_splits(spec, "multiclass", data_dir, "official", seed=0, limit_rows=limit_rows)
        parts = splits.by_name()
        counts = {name: part.labels.value_counts().to_dict() for name, part in parts.items()}
        chart = f"{spec.name}-classes.png"
        plots.bar_chart_png(counts, f"{spec.name}: rows per class and split", out / chart)

        classes = spec.classes("multiclass")
        lines += [f"## {spec.name}", "", f"Files: {', '.join(splits.description['files'])}.", ""]
        lines += ["| split | rows | " + " | ".join(classes) + " |", "|---|---|" + "---|" * len(classes)]
        for name, part in parts.items():
            lines.append(f"| {name} | {len(part)} | " + " | ".join(str(counts[name].get(c, 0)) for c in classes) + " |")
        lines += [
            "",
            f"![{spec.name} class counts]({chart})",
            "",
            "Training split features:",
            "",
            _feature_table(splits.train.features, spec),
            "",
        ]
    page = out / "README.md"
    page.write_text("\n".join(lines) + "\n")
    print(f"wrote {page}")
    return page
