"""Real flow records to send: rows of each dataset's file, as a client would post them."""

import os
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from preprocess.metadata import ModelMetadata
from service.schemas.records import record_model
from trainer.datasets import DATASETS
from trainer.load import load

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("NIDS_DATA_DIR", REPO.parent / "shared" / "datasets"))
# Rows the models never trained on where the dataset has such a file (NSL-KDD's official test set);
# NF-BoT-IoT-v2 ships one file, from which the trainer splits its test rows.
SOURCE = {"nsl-kdd": "nsl-kdd/KDDTest+.txt.gz", "nf-bot-iot-v2": "bot-iot/nf_bot_iot_v2_train.csv.gz"}
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
