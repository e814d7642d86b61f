"""Training cost on this machine: each shipped model's training, and each balancing method's resampling
step on the full NSL-KDD training split.

    python -m bench.training_cost [--artifacts artifacts] [--before-after [--before-after-rows 20000]]

Model training is not rerun: the figures are those the trainer measured in its own process (one process
per model, `trainer ship`) and wrote into each model's metrics.json. The resampling steps are run here,
each method in a subprocess of its own so its peak memory is its own: the split is loaded and encoded by
`trainer train`'s own steps (`trainer.prepare`), then its balancing step is timed (GAN and hybrid with the
trainer's default budget). With --before-after, the training choices are timed old against new in the same run, on
the same SMOTE-balanced NSL-KDD sample (one process, back to back, so the machine's load is shared alike): one CNN
epoch per feeding option (`trainer.pipeline`), and an experiment cell's balancing step resampled against read from
the balanced-set cache. Writes bench/results/training_cost.json and .md.
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import report
from bench.records import DATA_DIR, REPO
from preprocess.defaults import ARCHITECTURES, BALANCINGS, GAN_SECONDS
from trainer.__main__ import SHIPPED_BALANCING
from trainer.config import TrainConfig
from trainer.prepare import balance_training, classes_of, encode, load_splits
from trainer.summary import balancing_text

# (name, batch size, XLA, tf.data row shuffle): the first is the trainer's setting, each other one is timed against it.
EPOCH_OPTIONS = [
    ("numpy arrays to fit, batch 256 (the trainer's)", 256, False, False),
    ("with XLA (jit_compile=True)", 256, True, False),
    ("tf.data, rows shuffled per epoch", 256, False, True),
    ("batch 1024", 1024, False, False),
    ("batch 2048", 2048, False, False),
]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def shipped_training(artifacts: Path) -> list[dict]:
    """The `training` block of every model in the index, as the trainer measured it."""
    index = json.loads((artifacts / "index.json").read_text())
    rows = []
    for entry in index["models"]:
        metrics = json.loads((artifacts / entry["path"] / "metrics.json").read_text())
        training, config = metrics["training"], metrics["config"]
        rows.append(
            {
                "model": entry["id"],
                "balancing": balancing_text(metrics["balancing"]),
                "train_rows": metrics["split"]["rows"]["train"],
                "limit_rows": config.get("limit_rows"),
                "epochs_run": training["epochs_run"],
                "fit_seconds": training["fit_seconds"],
                "total_seconds": training["total_seconds"],
                "peak_rss_mb": training["peak_rss_mb"],
            }
        )
    return rows


def resample(method: str, limit_rows: int | None, gan_seconds: float | None) -> dict:
    """One balancing method's resampling step, as `trainer train` runs it on NSL-KDD (multiclass)."""
    cfg = TrainConfig(
        dataset="nsl-kdd",
        task="multiclass",
        architecture=ARCHITECTURES[0],
        balance=method,
        balance_target=SHIPPED_BALANCING["nsl-kdd"][1],
        limit_rows=limit_rows,
        data_dir=DATA_DIR,
        gan_seconds=gan_seconds or GAN_SECONDS,
    )
    splits = load_splits(cfg)
    data = encode(cfg, splits, classes_of(cfg, splits))
    rss_before = peak_rss_mb()
    started = time.perf_counter()
    X_out, _, balance_report = balance_training(cfg, data)
    return {
        "method": method,
        "seconds": round(time.perf_counter() - started, 2),
        "rows_before": len(data.train[0]),
        "rows_after": len(X_out),
        "peak_rss_mb_before_step": round(rss_before, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "gan_seconds_budget": cfg.gan_seconds if method in ("gan", "hybrid") else None,
        "fallbacks": balance_report["fallbacks"],
    }


def before_after(limit_rows: int) -> dict:
    """Old against new, in one process, on one SMOTE-balanced sample of NSL-KDD."""
    import os

    import keras
    import tensorflow as tf

    from trainer.models import BUILDERS

    with tempfile.TemporaryDirectory(prefix="bench-balanced-") as cache:
        cfg = TrainConfig(
            dataset="nsl-kdd",
            task="multiclass",
            architecture=ARCHITECTURES[0],
            balance="smote",
            limit_rows=limit_rows,
            data_dir=DATA_DIR,
            balanced_cache=Path(cache),
        )
        splits = load_splits(cfg)
        data = encode(cfg, splits, classes_of(cfg, splits))
        started = time.perf_counter()
        X, y, _ = balance_training(cfg, data)  # the first cell of an experiment: resamples, writes the cache
        resampled = time.perf_counter() - started
        started = time.perf_counter()
        balance_training(cfg, data)  # every later cell with the same split and balancing
        cached = time.perf_counter() - started
    epochs = []
    for name, batch, xla, shuffled_rows in EPOCH_OPTIONS:
        keras.utils.set_random_seed(0)
        model = BUILDERS["cnn"](X.shape[1], int(y.max()) + 1)
        model.compile(
            optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=xla
        )
        if shuffled_rows:
            feed = tf.data.Dataset.from_tensor_slices((X, y)).shuffle(len(X), seed=0).batch(batch).prefetch(tf.data.AUTOTUNE)
            model.fit(feed.take(2), epochs=1, verbose=0)  # compile the step first: the epoch time is the steady state
            started = time.perf_counter()
            model.fit(feed, epochs=1, verbose=0)
        else:
            model.fit(X[: 2 * batch], y[: 2 * batch], batch_size=batch, epochs=1, verbose=0)
            started = time.perf_counter()
            model.fit(X, y, batch_size=batch, epochs=1, shuffle=True, verbose=0)
        epochs.append({"option": name, "seconds": round(time.perf_counter() - started, 2)})
        print(f"bench.training_cost: epoch, {name}: {epochs[-1]['seconds']} s", file=sys.stderr, flush=True)
    for row in epochs:
        row["ratio_to_trainer"] = round(row["seconds"] / epochs[0]["seconds"], 2)
    return {
        "rows": len(X),
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "epoch": epochs,
        "balancing": {
            "resampled_seconds": round(resampled, 2),
            "cached_seconds": round(cached, 3),
            "ratio": round(cached / resampled, 4),
        },
    }


def resampling_costs(methods: list[str], limit_rows: int | None, gan_seconds: float | None) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-training-cost-") as tmp:
        for method in methods:
            out = Path(tmp) / f"{method}.json"
            command = [sys.executable, "-m", "bench.training_cost", "--resample", method, "--json", str(out)]
            command += ["--limit-rows", str(limit_rows)] if limit_rows else []
            command += ["--gan-seconds", str(gan_seconds)] if gan_seconds else []
            log = Path(tmp) / f"{method}.log"
            with open(log, "wb") as sink:
                if subprocess.call(command, cwd=REPO, stdout=sink, stderr=subprocess.STDOUT) != 0:
                    raise RuntimeError(f"resampling with {method} failed: {log.read_text(errors='replace')[-800:]}")
            rows.append(json.loads(out.read_text()))
            print(f"bench.training_cost: {method}: {rows[-1]['seconds']} s", file=sys.stderr, flush=True)
    return rows


def before_after_markdown(compared: dict | None) -> list[str]:
    if not compared:
        return []
    epochs = [[r["option"], r["seconds"], r["ratio_to_trainer"]] for r in compared["epoch"]]
    b = compared["balancing"]
    return [
        f"\n## Before and after, measured in the same run ({compared['rows']:,} SMOTE-balanced rows; load average after:"
        f" {compared['load_average_after']})\n",
        "One CNN epoch per feeding option, the trainer's setting first (ratio > 1: slower than the trainer's):\n",
        report.table(["option", "seconds per epoch", "ratio to the trainer's"], epochs),
        "\nAn experiment cell's balancing step: resampled (before; the first cell of a split still does) against read from"
        " the balanced-set cache (after; every other architecture and loss of the same split and balancing):\n",
        report.table(
            ["resampled s", "from the cache s", "ratio after / before"],
            [[b["resampled_seconds"], b["cached_seconds"], b["ratio"]]],
        ),
    ]


def markdown(results: dict) -> str:
    models = [
        [
            r["model"],
            r["balancing"],
            r["train_rows"],
            r["limit_rows"] or "full",
            r["epochs_run"],
            r["fit_seconds"],
            r["total_seconds"],
            r["peak_rss_mb"],
        ]
        for r in results["models"]
    ]
    steps = [
        [
            r["method"],
            r["rows_before"],
            r["rows_after"],
            r["seconds"],
            r["peak_rss_mb_before_step"],
            r["peak_rss_mb"],
            ", ".join(f"{k}: {v}" for k, v in r["fallbacks"].items()) or "-",
        ]
        for r in results["resampling"]
    ]
    limit = results["settings"]["limit_rows"]
    return "\n".join(
        [
            report.header("Training cost", results["context"]),
            "## Training each shipped model\n",
            "As measured by the trainer in its own process, one process per model (metrics.json `training`); "
            "total includes loading, balancing, evaluation and export.\n",
            report.table(["model", "balancing", "train rows", "rows limit", "epochs", "fit s", "total s", "peak RSS MB"], models),
            "\n## Resampling step of each balancing method, NSL-KDD multiclass training split\n",
            f"{'Full split' if not limit else f'Sample of {limit} rows per file'}; each method in its own process. "
            "'before step' is that process's peak after loading and encoding, so the step's own cost is the difference.\n",
            report.table(
                ["method", "rows in", "rows out", "seconds", "peak RSS MB before step", "peak RSS MB", "fallbacks"], steps
            ),
            *before_after_markdown(results.get("before_after")),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"))
    parser.add_argument("--methods", nargs="+", default=list(BALANCINGS), choices=BALANCINGS)
    parser.add_argument("--limit-rows", type=int, help="a stratified sample of each file instead of the full split (smoke runs)")
    parser.add_argument("--gan-seconds", type=float, help="the GAN's time budget (default: the trainer's)")
    parser.add_argument(
        "--before-after", action="store_true", help="also time the training choices, old against new, in this run"
    )
    parser.add_argument(
        "--before-after-rows", type=int, default=20000, help="rows per file of the sample --before-after trains on"
    )
    parser.add_argument("--out", type=Path, default=report.RESULTS)
    parser.add_argument("--resample", choices=BALANCINGS, help=argparse.SUPPRESS)  # one step, in the subprocess
    parser.add_argument("--json", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.resample:
        args.json.write_text(json.dumps(resample(args.resample, args.limit_rows, args.gan_seconds)))
        return 0
    if not (args.artifacts / "index.json").is_file():
        print(f"bench.training_cost: no index.json in {args.artifacts}", file=sys.stderr)
        return 2
    results = {
        "context": report.context(),
        "settings": {"artifacts": str(args.artifacts), "limit_rows": args.limit_rows, "gan_seconds": args.gan_seconds},
        "models": shipped_training(args.artifacts),
        "resampling": resampling_costs(args.methods, args.limit_rows, args.gan_seconds),
        "before_after": before_after(args.before_after_rows) if args.before_after else None,
    }
    report.write("training_cost", results, markdown(results), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
