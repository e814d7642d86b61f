"""The request body for /predict or /predict/batch, printed as JSON: a JSON file as it is, or a CSV
file of dataset rows (header line of column names) as a batch; --dataset and --model override.

    python3 request.py FILE [--dataset DATASET] [--model ID]
"""

import argparse
import csv
import json
import sys
from pathlib import Path

from csv_records import read_records


def body(path: Path, dataset: str | None, model: str | None) -> dict:
    if path.suffix.lower() == ".csv":
        if not dataset:
            raise ValueError("a CSV file needs --dataset (nsl-kdd, nf-bot-iot-v2, ...: see GET /models)")
        with path.open(newline="") as handle:
            request = {"records": read_records(handle)}
    else:
        try:
            request = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc}") from None
        if not isinstance(request, dict):
            raise ValueError('expected a JSON object such as {"dataset": ..., "record": {...}}')
    if dataset:
        request["dataset"] = dataset
    if model:
        request["model"] = model
    return request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--dataset")
    parser.add_argument("--model")
    args = parser.parse_args()
    try:
        json.dump(body(args.file, args.dataset, args.model), sys.stdout)
    except (OSError, ValueError, csv.Error) as exc:
        sys.exit(f"{args.file}: {exc}")


if __name__ == "__main__":
    main()
