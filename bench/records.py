"""Real flow records to send: rows of each dataset's file, as a client would post them."""

from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from preprocess.defaults import data_dir
from preprocess.metadata import ModelMetadata
from service.schemas.records import record_model
from trainer.datasets import DATASETS
from trainer.load import load

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / data_dir()  # the default is relative to the repository root, where the benchmarks run
SOURCE = {name: spec.records_file for name, spec in DATASETS.items() if spec.records_file}
CHUNK = 5000


def real_records(dataset: str, count: int, models: Sequence[ModelMetadata] = (), seed: int = 0) -> list[dict]:
    """`count` rows of the dataset's file in a random order fixed by `seed`, keyed by the dataset's column names.

    With `models`, only rows the service accepts for them: a model trained on a sample may not know every
    value of a closed categorical, and a benchmark should time answers, not 422s.
    """
    if dataset not in SOURCE:
        raise ValueError(f"no record source for dataset {dataset!r}; known: {', '.join(SOURCE)}")
    frame = load(DATASETS[dataset], "multiclass", DATA_DIR / SOURCE[dataset]).features.sample(frac=1.0, random_state=seed)
    record = record_model(list(models)) if models else None
    rows: list[dict] = []
    for start in range(0, len(frame), CHUNK):
        chunk = frame.iloc[start : start + CHUNK].to_dict("records")
        rows += [r for r in chunk if record is None or _accepted(record, r)]
        if len(rows) >= count:
            return rows[:count]
    raise ValueError(f"{SOURCE[dataset]} has {len(rows)} usable rows, fewer than the {count} asked for")


def _accepted(record, row: dict) -> bool:
    try:
        record.model_validate(row)
    except ValidationError:
        return False
    return True
