"""What the access log and the metrics cost per /predict request: one app with each switched on and off,
called in-process (no network, as bench.profile_request does) on one core, in interleaved rounds so that a
change in the machine's load hits every variant alike.

    python -m bench.observability_cost [--artifacts artifacts] [--model nsl-kdd-multiclass-cnn]

Writes bench/results/observability_cost.json and .md.
"""

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
from pathlib import Path

from bench import report
from bench.processes import SERVER_CORE, pin
from bench.profile_request import App
from bench.records import real_records
from preprocess.metadata import load_metadata
from service.core.config import Settings
from service.core.logging import AccessLog, configure_logging
from service.main import create_app
from service.middleware import RequestIdMiddleware

# name -> (metrics on, access log on)
VARIANTS = {
    "log + metrics (default)": (True, True),
    "metrics only": (True, False),
    "log only": (False, True),
    "neither": (False, False),
}


def _request_middleware(app) -> RequestIdMiddleware:
    layer = app.middleware_stack
    while not isinstance(layer, RequestIdMiddleware):
        layer = layer.app
    return layer


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
    configure_logging("INFO")
    devnull = open(os.devnull, "w")  # noqa: SIM115 (open for the whole run)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="bench-observability-") as tmp:
        # One app for every variant (separate apps differ by tens of µs on their own: memory layout, warm sessions);
        # a variant switches the metrics and the access log off by replacing their calls with no-ops.
        settings = Settings(
            artifacts_dir=args.artifacts, database_url=f"sqlite:///{tmp}/nids.db", jwt_secret=secrets.token_urlsafe(48)
        )
        app = create_app(settings)

        async def started() -> None:
            async with app.router.lifespan_context(app):
                pass

        loop.run_until_complete(started())
        client = App(app)
        loop.run_until_complete(client.log_in())  # builds the middleware stack
        middleware = _request_middleware(app)
        # Log lines are written as the service writes them (JSON to a stream), to /dev/null so no terminal slows them.
        logger, silent = AccessLog(devnull), AccessLog(devnull, enabled=False)
        metrics = app.state.metrics
        for _ in range(args.rounds):
            for name in random.sample(list(VARIANTS), len(VARIANTS)):  # a new order each round: no variant always goes first
                metrics_on, log_on = VARIANTS[name]
                app.state.metrics = middleware.metrics = metrics if metrics_on else None
                middleware.access_log = logger if log_on else silent
                times[name] += loop.run_until_complete(client.run("/predict", bodies, args.requests))
    loop.close()
    # Means, not medians: the log lines and metric updates are made in blocks, on one request in many.
    means = {name: statistics.mean(t) * 1e6 for name, t in times.items()}
    base = means["neither"]
    results = {
        "context": report.context(),
        "model": args.model,
        "requests_per_variant": args.requests * args.rounds,
        "mean_us": {n: round(m, 1) for n, m in means.items()},
        "cost_us": {n: round(m - base, 1) for n, m in means.items()},
    }
    rows = [[n, means[n], means[n] - base, f"{(means[n] - base) / base:+.1%}"] for n in VARIANTS]
    markdown = "\n".join(
        [
            report.header("What the access log and the metrics cost per /predict request", results["context"]),
            f"Model `{args.model}`, {results['requests_per_variant']} in-process requests per variant (JWT auth on), "
            f"{args.rounds} interleaved rounds, one core; log lines rendered as JSON and written to /dev/null.\n",
            report.table(["variant", "mean µs per request", "µs above neither", "share"], rows),
        ]
    )
    report.write("observability_cost", results, markdown, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
