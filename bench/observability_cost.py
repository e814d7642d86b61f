"""What the access log and the metrics cost per /predict request: the same app with each switched on and off,
called in-process (no network, as bench.profile_request does) on one core, in interleaved rounds so that a
change in the machine's load hits every variant alike.

    python -m bench.observability_cost [--artifacts artifacts] [--model nsl-kdd-multiclass-cnn]

Writes bench/results/observability_cost.json and .md.
"""

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
from pathlib import Path

import structlog

from bench import report
from bench.processes import SERVER_CORE, pin
from bench.profile_request import App
from bench.records import real_records
from preprocess.metadata import load_metadata
from service.core.config import Settings
from service.core.logging import configure_logging
from service.main import create_app

# name -> (metrics on, access log on)
VARIANTS = {
    "log + metrics (default)": (True, True),
    "metrics only": (True, False),
    "log only": (False, True),
    "neither": (False, False),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"))
    parser.add_argument("--model", default="nsl-kdd-multiclass-cnn")
    parser.add_argument("--requests", type=int, default=300, help="requests per variant per round")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--out", type=Path, default=report.RESULTS)
    args = parser.parse_args(argv)
    pin(0, SERVER_CORE)
    meta = load_metadata(args.artifacts / args.model / "metadata.json")
    bodies = [
        json.dumps({"dataset": meta.dataset, "model": args.model, "record": r}).encode()
        for r in real_records(meta.dataset, 500, [meta])
    ]
    # Log lines are written as the service writes them (JSON to a stream), to /dev/null so no terminal slows them.
    configure_logging("INFO")
    devnull = open(os.devnull, "w")  # noqa: SIM115 (open for the whole run)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="bench-observability-") as tmp:
        clients = {}
        for name, (metrics_on, log_on) in VARIANTS.items():
            # The access logger is bound when an app first answers (log_in below), so each app keeps this level.
            structlog.configure(logger_factory=structlog.WriteLoggerFactory(devnull),
                                wrapper_class=structlog.make_filtering_bound_logger(20 if log_on else 40))  # fmt: skip
            settings = Settings(artifacts_dir=args.artifacts, database_url=f"sqlite:///{tmp}/{len(clients)}.db",
                                jwt_secret=secrets.token_urlsafe(48), metrics_enabled=metrics_on)  # fmt: skip
            app = create_app(settings)

            async def started(app=app) -> None:
                async with app.router.lifespan_context(app):
                    pass

            loop.run_until_complete(started())
            clients[name] = App(app)
            loop.run_until_complete(clients[name].log_in())
        for _ in range(args.rounds):
            for name in VARIANTS:
                times[name] += loop.run_until_complete(clients[name].run("/predict", bodies, args.requests))
    loop.close()
    medians = {name: statistics.median(t) * 1e6 for name, t in times.items()}
    base = medians["neither"]
    results = {
        "context": report.context(),
        "model": args.model,
        "requests_per_variant": args.requests * args.rounds,
        "median_us": {n: round(m, 1) for n, m in medians.items()},
        "cost_us": {n: round(m - base, 1) for n, m in medians.items()},
    }
    rows = [[n, medians[n], medians[n] - base, f"{(medians[n] - base) / base:+.1%}"] for n in VARIANTS]
    markdown = "\n".join([
        report.header("What the access log and the metrics cost per /predict request", results["context"]),
        f"Model `{args.model}`, {results['requests_per_variant']} in-process requests per variant (JWT auth on), "
        f"{args.rounds} interleaved rounds, one core; log lines rendered as JSON and written to /dev/null.\n",
        report.table(["variant", "median µs per request", "µs above neither", "share"], rows),
    ])  # fmt: skip
    report.write("observability_cost", results, markdown, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
