"""Read a dataset file into features and labels, refusing malformed files with a one-line error.

Errors name the file, the 1-based line number and the column, so a user can open the file there.
"""

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from trainer.datasets import DataError, DatasetSpec


@dataclass
class Labeled:
    """Raw features (the dataset's own column names), one task's class labels and the raw label each came from
    (`subtypes`: nsl-kdd's attack name such as "guess_passwd", which the validation split can hold out whole), row-aligned;
    `difficulty` where the dataset rates its records (nsl-kdd: how many of its authors' 21 learners classified each right)."""

    features: pd.DataFrame
    labels: pd.Series
    source: str
    subtypes: pd.Series
    difficulty: pd.Series | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def columns(self) -> dict[str, np.ndarray]:
        """Each raw feature column, as `inference.Model.predict_columns` takes them."""
        return {name: self.features[name].to_numpy() for name in self.features.columns}

    def take(self, index: np.ndarray) -> "Labeled":
        def rows(series):
            return series.iloc[index].reset_index(drop=True)

        features = self.features.iloc[index].reset_index(drop=True)
        difficulty = None if self.difficulty is None else rows(self.difficulty)
        return Labeled(features, rows(self.labels), self.source, rows(self.subtypes), difficulty)


def _open_text(path: Path):
    return gzip.open(path, "rt", newline="") if path.suffix == ".gz" else open(path, newline="")


def _sniff_separator(path: Path) -> str:
    with _open_text(path) as f:
        first = f.readline()
    return "\t" if first.count("\t") > first.count(",") else ","


def read_table(spec: DatasetSpec, path: Path) -> pd.DataFrame:
    """The file's rows with every column of the dataset, numeric columns parsed; raises DataError."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    first_line = 2 if spec.has_header else 1
    text_columns = [*spec.categorical, *spec.label_columns.values()]
    try:
        frame = pd.read_csv(
            path,
            sep=_sniff_separator(path),
            header=0 if spec.has_header else None,
            dtype={c if spec.has_header else spec.columns.index(c): str for c in text_columns},
            keep_default_na=False,
            na_values=[""],
            low_memory=False,
            quoting=csv.QUOTE_MINIMAL,
        )
    except (pd.errors.ParserError, UnicodeDecodeError, EOFError, OSError) as exc:
        raise DataError(f"{path}: cannot parse: {str(exc).strip().splitlines()[-1]}") from None

    if not spec.has_header:
        # pandas pads short rows with NaN, so a row missing its last field is one that was cut short
        if frame.shape[1] != len(spec.columns):
            raise DataError(f"{path}: expected {len(spec.columns)} fields per line, found {frame.shape[1]}")
        frame.columns = list(spec.columns)
        short = frame[spec.columns[-1]].isna().to_numpy()
        if short.any():
            raise DataError(f"{path}: line {int(np.flatnonzero(short)[0]) + first_line}: expected {len(spec.columns)} fields")
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in spec.columns if c not in frame.columns]
    unexpected = [c for c in frame.columns if c not in spec.columns]
    if missing or unexpected:
        raise DataError(f"{path}: wrong columns for {spec.name}: missing {missing}, unexpected {unexpected}")

    for column in spec.features:
        if column in spec.categorical:
            continue
        if not pd.api.types.is_numeric_dtype(frame[column]):
            parsed = pd.to_numeric(frame[column], errors="coerce")
            bad = parsed.isna() & frame[column].notna()
            row = int(np.flatnonzero(bad.to_numpy())[0])
            value = frame[column].iloc[row]
            raise DataError(f"{path}: line {row + first_line}, column '{column}': not a number: {value!r}")
    return frame


def raw_labels(spec: DatasetSpec, task: str, frame: pd.DataFrame) -> pd.Series:
    """The task's label column as written in the file, trimmed (a float-parsed "1.0" read as "1")."""
    return frame[spec.label_columns[task]].astype(str).str.strip().str.removesuffix(".0")


def labels_for(spec: DatasetSpec, task: str, frame: pd.DataFrame, path: Path) -> pd.Series:
    """Map the raw label column to the task's class names; an unknown raw label is an error."""
    column = spec.label_columns[task]
    raw = raw_labels(spec, task, frame)
    classes = raw.map(spec.class_maps[task])
    if classes.isna().any():
        row = int(np.flatnonzero(classes.isna().to_numpy())[0])
        first_line = 2 if spec.has_header else 1
        raise DataError(f"{path}: line {row + first_line}, column '{column}': unknown label {raw.iloc[row]!r}")
    return classes.rename("label")


def load(spec: DatasetSpec, task: str, path: Path) -> Labeled:
    frame = read_table(spec, path)
    labels = labels_for(spec, task, frame, path)
    subtypes = raw_labels(spec, task, frame).rename("subtype")
    features = frame[list(spec.features)].reset_index(drop=True)
    difficulty = frame[spec.difficulty_column].reset_index(drop=True) if spec.difficulty_column else None
    return Labeled(features, labels.reset_index(drop=True), Path(path).name, subtypes.reset_index(drop=True), difficulty)
