"""What a scoring run needs, settled before the first row is read: the model, the input's columns, the checks.

`score_chunk` (= `prepare_chunk`, then `finish_chunk`) is the one scoring step both engines run (the local loop, in
two threads, and each Spark task), so their outputs match.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from inference import Model, load_model
from inference.artifacts import Index, check_listed, dataset_defaults, read_json, read_metadata
from nids.scoring.output import output_schema, raw_record, scored_table
from nids.scoring.reader import InputError, InputFile, open_input
from nids.scoring.validate import ColumnRule, Validated, column_rules, validate
from trainer.datasets import DATASETS, DatasetSpec


@dataclass(frozen=True)
class ScoreJob:
    source: InputFile
    model: Model
    model_folder: Path
    rules: list[ColumnRule]
    identifiers: list[str]  # the dataset's identifying columns that the input has
    schema: pa.Schema  # of the scored file

    @property
    def dataset(self) -> str:
        return self.model.dataset

    @property
    def read_columns(self) -> list[str]:
        """Features and identifiers, in file order: all that scoring reads."""
        wanted = {rule.name for rule in self.rules} | set(self.identifiers)
        return [name for name in self.source.columns if name in wanted]


@dataclass
class ChunkResult:
    scored: pa.Table
    rejects: list[tuple[int, str, str, str | None, str]]  # (row, column, reason, raw value, raw record)


def plan(input_path: Path, artifacts: Path, dataset: str | None = None, model_id: str | None = None) -> ScoreJob:
    """Choose the model (by id, else the dataset's default, the dataset named or told by the file's header) and check
    that the file has every column it needs. Raises InputError (the file) or ArtifactError (the models)."""
    index = read_json(artifacts / "index.json", Index)
    entries = {entry.id: entry for entry in index.models}
    if model_id is not None:
        if model_id not in entries:
            raise InputError(f"unknown model '{model_id}'; {artifacts / 'index.json'} lists {', '.join(entries)}")
        if dataset is not None and entries[model_id].dataset != dataset:
            raise InputError(f"model '{model_id}' scores {entries[model_id].dataset} records, not {dataset}")
        dataset = entries[model_id].dataset
    served = sorted({entry.dataset for entry in index.models})
    source = open_input(input_path, None)  # as if it had a header
    if dataset is None:
        dataset = _dataset_of(source, served)
    elif dataset not in served:
        raise InputError(f"no model for dataset '{dataset}' in {artifacts}; it serves {', '.join(served)}")
    spec = DATASETS[dataset]
    if not spec.has_header and not set(spec.features) <= set(source.columns):  # a headerless file, as published
        source = open_input(input_path, spec.columns)
    model_id = model_id or dataset_defaults(index, artifacts / "index.json")[dataset]
    folder = artifacts / entries[model_id].path
    meta = read_metadata(folder / "metadata.json")
    check_listed(meta, entries[model_id], folder / "metadata.json")
    siblings = [
        read_metadata(artifacts / e.path / "metadata.json") for e in index.models if e.dataset == dataset and e.id != model_id
    ]
    rules = column_rules(meta, siblings)
    missing = [rule.name for rule in rules if rule.name not in source.columns]
    if missing:
        raise InputError(f"{input_path}: missing {len(missing)} column(s) that {model_id} needs: {', '.join(missing)}")
    model = load_model(folder, meta=meta)
    identifiers = [name for name in _identifiers(spec) if name in source.columns]
    return ScoreJob(source, model, folder, rules, identifiers, output_schema(model, identifiers))


def _dataset_of(source: InputFile, served: list[str]) -> str:
    """The dataset most of whose features the header names (so a file short of a few is told what it lacks)."""
    share = {name: len(set(DATASETS[name].features) & set(source.columns)) / len(DATASETS[name].features) for name in served}
    best = max(share, key=share.get)
    if share[best] < 0.5:
        raise InputError(f"{source.path}: cannot tell the dataset from its first line; pass --dataset ({', '.join(served)})")
    return best


def _identifiers(spec: DatasetSpec) -> list[str]:
    """Columns that say which flow a row is (addresses, ports, sequence ids); a constant such as the dataset's
    name in every row identifies nothing."""
    return [name for name in spec.identifiers if name != "Dataset"]


@dataclass
class PreparedChunk:
    """A chunk checked and encoded, ready for the model."""

    table: pa.Table
    rows: np.ndarray
    checked: Validated
    encoded: np.ndarray  # the good rows, as the model's input


def prepare_chunk(model: Model, rules: list[ColumnRule], table: pa.Table, rows: np.ndarray) -> PreparedChunk:
    """Check a chunk's values and encode its good rows (no model run: this half can run while another chunk's does)."""
    checked = validate(table, rules)
    return PreparedChunk(table, rows, checked, model.preprocessor.transform_columns(checked.columns, int(checked.good.sum())))


def finish_chunk(model: Model, schema: pa.Schema, chunk: PreparedChunk) -> ChunkResult:
    """Predict a prepared chunk's good rows and return them scored, with one reject per bad value."""
    good, table, rows = chunk.checked.good, chunk.table, chunk.rows
    predictions = model.predict_encoded(chunk.encoded)
    identifiers = [field.name for field in schema][: schema.get_field_index("row")]
    ids = table.select(identifiers).filter(pa.array(good)) if identifiers else pa.table({})
    scored = scored_table(schema, ids, rows[good], predictions)
    records: dict[int, str] = {}
    rejects = []
    for index, column, reason, value in chunk.checked.problems:
        record = records.get(index) or records.setdefault(index, raw_record(table, index))
        rejects.append((int(rows[index]), column, reason, value, record))
    return ChunkResult(scored, rejects)


def score_chunk(model: Model, rules: list[ColumnRule], schema: pa.Schema, table: pa.Table, rows: np.ndarray) -> ChunkResult:
    """The whole scoring step of one chunk: `Model.predict_columns` in two halves."""
    return finish_chunk(model, schema, prepare_chunk(model, rules, table, rows))
