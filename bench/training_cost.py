"""Training cost on this machine: each shipped model's training, and each balancing method's resampling
step on the full NSL-KDD training split.

    python -m bench.training_cost [--artifacts artifacts]

Model training is not rerun: the figures are those the trainer measured in its own process (one process
per model, `trainer ship`) and wrote into each model's metrics.json. The resampling steps are run here,
each method in a subprocess of its own so its peak memory is its own: the split is loaded and encoded by
`trainer train`'s own steps (`trainer.prepare`), then its balancing step is timed (GAN and hybrid with the
trainer's default budget). Writes bench/results/training_cost.json and .md.
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


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def shipped_training(artifacts: Path) -> list[dict]:
    """The `training` block of every model in the index, as the trainer measured it."""
    index = json.loads((artifacts / "index.json").read_text())
    rows = []
    for entry in index["models"]:
        metrics = json.loads((artifacts / entry["path"] / "metrics.json").read_text())
        training, config = metrics["training"], metrics["config"]
        rows.append({
            "model": entry["id"],
            "balancing": f"{config['balance']} ({config['balance_target']:g})",
            "train_rows": metrics["split"]["rows"]["train"],
            "limit_rows": config.get("limit_rows"),
            "epochs_run": training["epochs_run"],
            "fit_seconds": training["fit_seconds"],
            "total_seconds": training["total_seconds"],
            "peak_rss_mb": training["peak_rss_mb"],
        })  # fmt: skip
    return rows


def resample(method: str, limit_rows: int | None, gan_seconds: float | None) -> dict:
    """One balancing method's resampling step, as `trainer train` runs it on NSL-KDD (multiclass)."""
    cfg = TrainConfig(
        dataset="nsl-kdd", task="multiclass", architecture=ARCHITECTURES[0], balance=method,
        balance_target=SHIPPED_BALANCING["nsl-kdd"][1], limit_rows=limit_rows, data_dir=DATA_DIR,
        gan_seconds=gan_seconds or GAN_SECONDS,
    )  # fmt: skip
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


def markdown(results: dict) -> str:
    models = [[r["model"], r["balancing"], r["train_rows"], r["limit_rows"] or "full", r["epochs_run"], r["fit_seconds"],
               r["total_seconds"], r["peak_rss_mb"]] for r in results["models"]]  # fmt: skip
    steps = [[r["method"], r["rows_before"], r["rows_after"], r["seconds"], r["peak_rss_mb_before_step"], r["peak_rss_mb"],
              ", ".join(f"{k}: {v}" for k, v in r["fallbacks"].items()) or "-"] for r in results["resampling"]]  # fmt: skip
    limit = results["settings"]["limit_rows"]
    return "\n".join([
        report.header("Training cost", results["context"]),
        "## Training each shipped model\n",
        "As measured by the trainer in its own process, one process per model (metrics.json `training`); "
        "total includes loading, balancing, evaluation and export.\n",
        report.table(["model", "balancing", "train rows", "rows limit", "epochs", "fit s", "total s", "peak RSS MB"], models),
        "\n## Resampling step of each balancing method, NSL-KDD multiclass training split\n",
        f"{'Full split' if not limit else f'Sample of {limit} rows per file'}; each method in its own process. "
        "'before step' is that process's peak after loading and encoding, so the step's own cost is the difference.\n",
        report.table(["method", "rows in", "rows out", "seconds", "peak RSS MB before step", "peak RSS MB", "fallbacks"], steps),
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"))
    parser.add_argument("--methods", nargs="+", default=list(BALANCINGS), choices=BALANCINGS)
    parser.add_argument("--limit-rows", type=int, help="a stratified sample of each file instead of the full split (smoke runs)")
    parser.add_argument("--gan-seconds", type=float, help="the GAN's time budget (default: the trainer's)")
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
    }
    report.write("training_cost", results, markdown(results), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
