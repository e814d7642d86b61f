"""Add the training profile (drift) and background rows (explanations) to shipped models that lack them.

Each model's training split is rebuilt exactly as the trainer built it, from the configuration in its
metrics.json (dataset, task, protocol, seed, limit_rows, class_floor, validation), and checked against the row and class
counts its metadata recorded; then `training_profile` and `background` are written into its metadata.json.
The ONNX file, and so the sha256 in the metadata, stay as they are.

    python scripts/add_profiles.py [--artifacts artifacts] [--data-dir DIR] [--force]
"""

import argparse
import json
import sys
from pathlib import Path

from preprocess.defaults import data_dir
from preprocess.metadata import MetadataError, load_metadata
from trainer.load import DataError
from trainer.profile import background_rows, training_profile
from trainer.splits import model_splits


def add_profile(folder: Path, root: Path, force: bool) -> str:
    meta = load_metadata(folder / "metadata.json")
    if meta.training_profile is not None and meta.background is not None and not force:
        return f"{meta.model_id}: already has both, kept"
    metrics = json.loads((folder / "metrics.json").read_text())
    train = model_splits(metrics, root).train
    recorded = meta.training["rows"]["train"], meta.training["class_counts"]["train"]
    if (len(train), train.labels.value_counts().to_dict()) != recorded:
        raise SystemExit(f"add_profiles: {folder}: the rebuilt training split differs from the one its metadata records")
    features = train.features[[f.name for f in meta.features]]
    meta = meta.model_copy(
        update={
            "training_profile": training_profile(features, meta.features),
            "background": background_rows(features, seed=metrics["config"]["seed"]),
        }
    )
    (folder / "metadata.json").write_text(meta.model_dump_json(indent=2))
    load_metadata(folder / "metadata.json")  # what was written must read back under the schema
    return f"{meta.model_id}: profile of {len(train)} training rows, {len(meta.background)} background rows"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"))
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument(
        "--force",
        action="store_true",
        help="recompute models that already have both fields",
    )
    args = parser.parse_args(argv)
    try:
        index = json.loads((args.artifacts / "index.json").read_text())
        for entry in index["models"]:
            print(add_profile(args.artifacts / entry["path"], data_dir(args.data_dir), args.force))
    except (OSError, json.JSONDecodeError, KeyError, MetadataError, DataError) as exc:
        print(f"add_profiles: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
