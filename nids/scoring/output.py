"""The scored file (CSV or Parquet, by suffix) and the rejects file: their columns and their writers.

Scored columns: the input's identifying columns (as text), `row` (the 1-based input row number), `label`,
`is_attack`, `confidence`, `novelty_score` and `novelty_unknown` when the model has a novelty detector, then one
`p_<class>` probability per class.
"""

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from inference import Model, Predictions
from nids.scoring.reader import PARQUET_SUFFIXES, is_parquet

OUTPUT_SUFFIXES = (".csv", *PARQUET_SUFFIXES)
REJECT_COLUMNS = ("row", "column", "reason", "value", "record")


def output_schema(model: Model, identifiers: Sequence[str]) -> pa.Schema:
    fields = [pa.field(name, pa.string()) for name in identifiers]
    fields += [
        pa.field("row", pa.int64()),
        pa.field("label", pa.string()),
        pa.field("is_attack", pa.bool_()),
        pa.field("confidence", pa.float32()),
    ]
    if model.meta.novelty is not None:
        fields += [pa.field("novelty_score", pa.float64()), pa.field("novelty_unknown", pa.bool_())]
    fields += [pa.field(f"p_{name}", pa.float32()) for name in model.classes]
    return pa.schema(fields)


def scored_table(schema: pa.Schema, ids: pa.Table, rows: np.ndarray, predictions: Predictions) -> pa.Table:
    """The scored rows of one chunk; `ids` holds the identifying columns of the same rows."""
    columns = [ids.column(name).cast(pa.string()) for name in ids.column_names]
    columns += [
        pa.array(rows, pa.int64()),
        pa.array(predictions.classes, pa.string()).take(pa.array(predictions.best)),
        pa.array(predictions.is_attack, pa.bool_()),
        pa.array(predictions.confidence, pa.float32()),
    ]
    if predictions.novelty_score is not None:
        columns += [pa.array(predictions.novelty_score, pa.float64()), pa.array(predictions.unknown, pa.bool_())]
    columns += [pa.array(predictions.probabilities[:, i], pa.float32()) for i in range(len(predictions.classes))]
    return pa.Table.from_arrays(columns, schema=schema)


class ScoredWriter:
    """Streams tables of one schema into a CSV or Parquet file, chosen by the file's suffix."""

    def __init__(self, path: Path, schema: pa.Schema):
        self.path, self.schema = path, schema
        if is_parquet(path):
            self._writer = pq.ParquetWriter(path, schema)
        else:
            self._writer = pa_csv.CSVWriter(str(path), schema)

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()


def check_output_path(path: Path) -> str | None:
    """Why the scored file cannot be written there, or None."""
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        return f"{path}: the output must end in {', '.join(OUTPUT_SUFFIXES)} (CSV or Parquet)"
    if not path.parent.is_dir():
        return f"{path.parent}: no such directory"
    return None


class RejectsWriter:
    """Rows the model could not score: one line per bad value (row, column, reason, value) with the row's raw values."""

    def __init__(self, path: Path):
        self.path = path
        self.count = 0  # rejected rows
        self.rows: set[int] = set()
        self._file = path.open("w", newline="", encoding="utf-8")
        self._csv = csv.writer(self._file)
        self._csv.writerow(REJECT_COLUMNS)

    def write(self, row: int, column: str, reason: str, value: str | None, record: str) -> None:
        self._csv.writerow([row, column, reason, "" if value is None else value, record])
        self.rows.add(row)

    def close(self) -> None:
        self._file.close()


def raw_record(table: pa.Table, index: int) -> str:
    """One row's values as the input held them, comma-separated in input column order."""
    values = [table.column(name)[index].as_py() for name in table.column_names]
    return ",".join("" if v is None else str(v) for v in values)
