"""`nids score INPUT -o OUTPUT`: score a CSV or Parquet file of flow records of any size with a shipped model.

The input is read in chunks, each value checked as the service checks it; a bad row goes to the rejects file (row,
column, reason, value, the row's raw values) and the others keep their row numbers. Every prediction goes through
the inference core, so the labels are the service's. `--engine spark` runs the same scoring as a Spark job.
"""

import argparse
import sys
import time
from pathlib import Path

from nids.errors import CommandError

DEFAULT_CHUNK_ROWS = 8_192  # small enough that reading and writing overlap inference even on small files
# Bulk scoring can flag hundreds of thousands of flows in a minute: the queue absorbs bursts that a sink drains slower.
ALERT_QUEUE = 100_000


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("score", help="score a CSV or Parquet file of flow records", description=__doc__)
    parser.add_argument("input", type=Path, help="CSV (optionally .gz/.bz2/.zst/.lz4) or Parquet file of records")
    parser.add_argument("-o", "--output", type=Path, required=True, help="scored file: .csv or .parquet")
    parser.add_argument(
        "--dataset", help="the records' dataset, one that artifacts/index.json serves (default: told by the file's header)"
    )
    parser.add_argument("--model", help="model id from artifacts/index.json (default: the dataset's default model)")
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"), help="models folder (default: artifacts)")
    parser.add_argument("--engine", choices=("local", "spark"), default="local")
    parser.add_argument("--master", default="local[2]", help="Spark master URL for --engine spark (default: local[2])")
    parser.add_argument("--chunk-rows", type=_positive, default=DEFAULT_CHUNK_ROWS, help="rows read and scored at a time")
    parser.add_argument("--rejects", type=Path, help="rejected rows (CSV); default: OUTPUT's name + .rejects.csv")
    alerts = parser.add_mutually_exclusive_group()
    alerts.add_argument("--alerts-jsonl", type=Path, metavar="FILE", help="append an ECS alert per attack verdict")
    alerts.add_argument("--alerts-syslog", metavar="HOST:PORT", help="send alerts as RFC 5424 syslog over UDP")
    alerts.add_argument("--alerts-webhook", metavar="URL", help="POST alerts as JSON arrays to this URL")
    return parser


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number of rows")
    return int(value)


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top: `nids --help` and the other subcommands must not pay for numpy, pyarrow or
    # onnxruntime.
    from tqdm import tqdm

    from inference import ArtifactError
    from nids.alerts import AlertEmitter, sinks_from_options
    from nids.scoring.job import plan
    from nids.scoring.local import Outputs
    from nids.scoring.output import check_output_path
    from nids.scoring.reader import InputError

    problem = check_output_path(args.output)
    if problem:
        raise CommandError(problem)
    rejects = args.rejects or args.output.with_name(args.output.name + ".rejects.csv")
    try:
        job = plan(args.input, args.artifacts, dataset=args.dataset, model_id=args.model)
        sinks = sinks_from_options(jsonl=args.alerts_jsonl, syslog=args.alerts_syslog, webhook=args.alerts_webhook)
    except (InputError, ArtifactError, ValueError, OSError) as exc:
        raise CommandError(str(exc)) from None
    emitter = AlertEmitter(sinks, queue_size=ALERT_QUEUE) if sinks else None
    # Written under temporary names and renamed once complete: a failed run never leaves a truncated file that
    # looks like a result, nor replaces the previous one.
    partial = {path: path.with_name(f".{path.stem}.partial{path.suffix}") for path in (args.output, rejects)}  # same format
    started = time.perf_counter()
    progress = tqdm(total=job.source.total_rows, unit=" rows", unit_scale=True, file=sys.stderr, desc=job.model.id, leave=False)
    try:
        summary = _run_engine(args, job, Outputs(partial[args.output], partial[rejects], emitter, progress))
        for path, temporary in partial.items():
            temporary.replace(path)
    except InputError as exc:  # e.g. a file that ends mid-way: reported after `finally` has cleared the progress bar
        raise CommandError(str(exc)) from None
    finally:
        progress.close()
        if emitter is not None:
            emitter.close()
        for temporary in partial.values():
            temporary.unlink(missing_ok=True)
    seconds = time.perf_counter() - started
    rows = summary.scored + summary.rejected
    print(
        f"{args.input}: {rows:,} rows in {seconds:.1f} s ({rows / max(seconds, 1e-9):,.0f} rows/s) with {job.model.id}: "
        f"{summary.scored:,} scored -> {args.output}, {summary.attacks:,} attack or unknown, "
        f"{summary.rejected:,} rejected -> {rejects}",
        file=sys.stderr,
    )
    if emitter is not None:
        stats = emitter.stats()
        print(f"alerts: {summary.alerts:,} emitted, {stats['sent']:,} sent, {emitter.dropped:,} dropped", file=sys.stderr)
    return 0


def _run_engine(args: argparse.Namespace, job, outputs):
    """The engine's Summary; raises InputError for a file that cannot be read to its end."""
    from nids.scoring.local import run_local
    from nids.scoring.reader import InputError

    if args.engine == "spark":
        try:
            from nids.scoring.spark import run_spark  # pyspark only when asked for
        except ImportError as exc:
            raise InputError(f"--engine spark needs pyspark ({exc}): pip install -e '.[spark]'") from None
        return run_spark(job, outputs, args.chunk_rows, args.master)
    return run_local(job, outputs, args.chunk_rows)
