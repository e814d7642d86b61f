"""`nids score --engine local` against raw onnxruntime on the same rows, in the same process and run.

Baseline: the file's feature columns already in memory as arrays, then only the model's preprocessing and
`session.run` (the inference core's `Model.run`, 128 rows per call, as every caller runs it). Ours: the whole local
engine from the compressed file on disk to the scored file (read, check, convert, predict, write). The target is
ours >= 80 % of the baseline's rows/s. Runs alternate, best of `--repeats` each.

    nice python -m bench.score [--repeats 3] [--chunk-rows N] [--input-format csv|parquet] [--output-format csv|parquet]
                               [--limit-rows N] [--out DIR]
"""

import argparse
import gzip
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from bench.records import DATA_DIR, SOURCE
from bench.report import RESULTS, context, header, table, write
from inference import Model
from nids.commands.score import DEFAULT_CHUNK_ROWS
from nids.scoring.job import plan
from nids.scoring.local import Outputs, run_local
from trainer.datasets import DATASETS

TARGET = 0.80


def read_typed(path: Path, dataset: str) -> pa.Table:
    """The whole file with types inferred: the baseline's starting point, and the Parquet input's content."""
    spec = DATASETS[dataset]
    names = None if spec.has_header else list(spec.columns)
    return pa_csv.read_csv(path, read_options=pa_csv.ReadOptions(column_names=names))


def feature_columns(data: pa.Table, model: Model) -> dict[str, np.ndarray]:
    """The model's input columns, typed, in memory."""
    return {f.name: data.column(f.name).to_numpy() for f in model.meta.features}


def raw_seconds(model: Model, columns: dict[str, np.ndarray], n_rows: int, chunk_rows: int) -> tuple[float, float]:
    """(wall, CPU) seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, n_rows, chunk_rows):
        part = {name: values[start : start + chunk_rows] for name, values in columns.items()}
        model.run(model.preprocessor.transform_columns(part, min(chunk_rows, n_rows - start)))
    return time.perf_counter() - wall, time.process_time() - cpu


def score_seconds(
    path: Path, artifacts: Path, dataset: str, chunk_rows: int, suffix: str, folder: Path
) -> tuple[float, float, int]:
    """(wall, CPU of all the process's threads) seconds, rows."""
    job = plan(path, artifacts, dataset=dataset)  # model loading is start-up, not per-row work: outside the clock
    wall, cpu = time.perf_counter(), time.process_time()
    summary = run_local(job, Outputs(folder / f"scored{suffix}", folder / "rejects.csv"), chunk_rows)
    return time.perf_counter() - wall, time.process_time() - cpu, summary.scored + summary.rejected


def first_rows(path: Path, rows: int, folder: Path, has_header: bool) -> Path:
    """The first `rows` data rows of a gzip CSV file, header kept, as a file of their own (for smoke runs)."""
    with gzip.open(path, "rt", newline="") as source:
        lines = [line for _, line in zip(range(rows + has_header), source, strict=False)]
    short = folder / path.name.removesuffix(".gz")
    short.write_text("".join(lines))
    return short


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS)
    parser.add_argument("--input-format", choices=("csv", "parquet"), default="csv", help="csv: the shipped .gz files")
    parser.add_argument("--output-format", choices=("csv", "parquet"), default="csv")
    parser.add_argument("--limit-rows", type=int, help="only the first N rows of each file (smoke runs)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    ctx = context()
    rows, results = [], {}
    for dataset, relative in SOURCE.items():
        with tempfile.TemporaryDirectory() as folder:
            path = DATA_DIR / relative
            if args.limit_rows:
                path = first_rows(path, args.limit_rows, Path(folder), DATASETS[dataset].has_header)
            data = read_typed(path, dataset)
            if args.input_format == "parquet":  # text parsing and number conversion left out of the comparison
                path = Path(folder) / "input.parquet"
                pq.write_table(data, path)
            job = plan(path, args.artifacts, dataset=dataset)
            columns, n_rows = feature_columns(data, job.model), data.num_rows
            raw, ours, raw_cpu, ours_cpu = [], [], [], []
            for _ in range(args.repeats):
                wall, cpu = raw_seconds(job.model, columns, n_rows, args.chunk_rows)
                raw.append(n_rows / wall)
                raw_cpu.append(n_rows / cpu)
                suffix = f".{args.output_format}"
                wall, cpu, scored = score_seconds(path, args.artifacts, dataset, args.chunk_rows, suffix, Path(folder))
                assert scored == n_rows, f"{path}: scored {scored} rows of {n_rows}"
                ours.append(n_rows / wall)
                ours_cpu.append(n_rows / cpu)
        ratio, cpu_ratio = max(ours) / max(raw), max(ours_cpu) / max(raw_cpu)
        results[dataset] = {
            "model": job.model.id,
            "rows": n_rows,
            "raw_rows_per_s": raw,
            "score_rows_per_s": ours,
            "ratio": ratio,
            "raw_rows_per_cpu_s": raw_cpu,
            "score_rows_per_cpu_s": ours_cpu,
            "cpu_ratio": cpu_ratio,
        }
        rows.append([dataset, job.model.id, n_rows, max(raw), max(ours), f"{ratio:.0%}", "yes" if ratio >= TARGET else "NO",
                     max(raw_cpu), max(ours_cpu), f"{cpu_ratio:.0%}"])  # fmt: skip
    ours_header = f"nids score rows/s ({args.input_format} in, {args.output_format} out)"
    markdown = header("nids score (local engine) against raw onnxruntime", ctx) + "\n" + table(
        ["dataset", "model", "rows", "raw rows/s (preprocess + session.run)", ours_header, "ratio", f">= {TARGET:.0%}",
         "raw rows per CPU-s", "nids score rows per CPU-s", "CPU ratio"],
        rows,
    )  # fmt: skip
    markdown += (
        f"\n\nBest of {args.repeats} alternating runs each, chunks of {args.chunk_rows:,} rows, one onnxruntime thread. "
        "Raw: the file's feature columns already in memory, then only preprocessing and inference. "
        "nids score: from the compressed file on disk to the scored file, every value checked; its reading and writing "
        "run in their own threads, so on an idle second core they overlap inference. Rows per CPU-second count the CPU "
        "time of all the process's threads: the work done per row, whatever else the machine runs (the wall-clock "
        "ratio depends on a free second core; see the load average above).\n"
    )
    name = (
        "score"
        if (args.input_format, args.output_format) == ("csv", "csv")
        else f"score-{args.input_format}-{args.output_format}"
    )
    write(name, ctx | {"target": TARGET, "results": results}, markdown, args.out)


if __name__ == "__main__":
    main()
