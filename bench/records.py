"""Real flow records to send: the rows of each dataset's test file, as a client would post them."""

import os
from pathlib import Path

from trainer.datasets import DATASETS
from trainer.load import load

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("NIDS_DATA_DIR", REPO.parent / "shared" / "datasets"))
# Rows the models never trained on where the dataset has such a file (NSL-KDD's official test set);
# NF-BoT-IoT-v2 ships one file, from which the trainer splits its test rows.
SOURCE = {"nsl-kdd": "nsl-kdd/KDDTest+.txt.gz", "nf-bot-iot-v2": "bot-iot/nf_bot_iot_v2_train.csv.gz"}


def real_records(dataset: str, count: int, seed: int = 0) -> list[dict]:
    """`count` rows of the dataset's file, sampled with a fixed seed, keyed by the dataset's column names."""
    if dataset not in SOURCE:
        raise ValueError(f"no record source for dataset {dataset!r}; known: {', '.join(SOURCE)}")
    frame = load(DATASETS[dataset], "multiclass", DATA_DIR / SOURCE[dataset]).features
    if count > len(frame):
        raise ValueError(f"{SOURCE[dataset]} has {len(frame)} rows, fewer than the {count} asked for")
    return frame.sample(n=count, random_state=seed).to_dict("records")
