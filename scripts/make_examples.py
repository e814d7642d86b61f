"""Write the example requests in scripts/examples/ from real rows of the datasets.

For each dataset the service serves: the first row of each class as a /predict body
(`<dataset>-<class>.json`), those rows together as a /predict/batch body (`<dataset>-batch.json`),
and the first rows of each class as CSV with the dataset's header (`<dataset>.csv`; NSL-KDD's
files have none, so its column names come from trainer/datasets.py). Rows keep every column,
labels included: the service accepts and ignores them, and they tell the reader the truth.

    python scripts/make_examples.py [--data-dir DIR] [--check]
"""

import argparse
import csv
import gzip
import io
import json
import sys
from pathlib import Path

from preprocess.defaults import data_dir
from trainer.datasets import NF_BOT_IOT_V2, NSL_KDD, DatasetSpec

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
from csv_records import parse_value

EXAMPLES = Path(__file__).resolve().parent / "examples"
CSV_ROWS_PER_CLASS = 4
SERVED = (NSL_KDD, NF_BOT_IOT_V2)


def first_rows_per_class(spec: DatasetSpec, path: Path, per_class: int) -> tuple[list[str], dict[str, list[list[str]]]]:
    """The file's column names and its first `per_class` rows of each multiclass class, as they are."""
    class_of = spec.class_maps["multiclass"]
    found: dict[str, list[list[str]]] = {name: [] for name in spec.classes("multiclass")}
    with gzip.open(path, "rt", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader) if spec.has_header else list(spec.columns)
        label_at = header.index(spec.label_columns["multiclass"])
        for cells in reader:
            rows = found[class_of[cells[label_at]]]
            if len(rows) < per_class:
                rows.append(cells)
            if all(len(rows) == per_class for rows in found.values()):
                break
    missing = [name for name, rows in found.items() if not rows]
    if missing:
        raise SystemExit(f"make_examples: {path} has no row of class {', '.join(missing)}")
    return header, found


def example_files(folder: Path) -> dict[str, str]:
    """File name -> content of every example."""
    files = {}
    for spec in SERVED:
        header, rows = first_rows_per_class(spec, folder / spec.records_file, CSV_ROWS_PER_CLASS)
        firsts = {name: dict(zip(header, map(parse_value, found[0]), strict=True)) for name, found in rows.items()}
        for name, record in firsts.items():
            files[f"{spec.name}-{name.lower()}.json"] = _json({"dataset": spec.name, "record": record})
        files[f"{spec.name}-batch.json"] = _json({"dataset": spec.name, "records": list(firsts.values())})
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(row for found in rows.values() for row in found)
        files[f"{spec.name}.csv"] = text.getvalue()
    return files


def _json(body: dict) -> str:
    return json.dumps(body, indent=2) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=data_dir, default=data_dir())
    parser.add_argument("--check", action="store_true", help="compare with scripts/examples/ instead of writing")
    args = parser.parse_args()
    files = example_files(args.data_dir)
    if args.check:
        stale = sorted(
            name for name, text in files.items() if not (EXAMPLES / name).is_file() or (EXAMPLES / name).read_text() != text
        )
        if stale:
            print(f"make_examples: out of date: {', '.join(stale)}", file=sys.stderr)
            return 1
        return 0
    EXAMPLES.mkdir(exist_ok=True)
    for name, text in files.items():
        (EXAMPLES / name).write_text(text)
    print(f"wrote {len(files)} files to {EXAMPLES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
