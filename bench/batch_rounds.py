"""/predict/batch against the in-process limit, and how the batch targets are judged: in alternating rounds.

The limit (numpy preprocessing + onnxruntime on the same rows, in this process on the server core) moves by 10-20 %
between minutes on this shared machine, so a limit measured once, minutes away from the served runs, can make the
same code look 20 points better or worse. Here each round measures the limit, then every body format served (the
server idle while the limit runs, on the same core), `rounds` times; a target is judged on the median of the
rounds' ratios.
"""

import argparse
import statistics
from collections.abc import Sequence

from bench.client import Run, load
from bench.inprocess import median_seconds
from bench.processes import CLIENT_CORE, SERVER_CORE, pin
from bench.serving_report import ARROW_ANSWERED, BATCH_FORMATS
from inference import Model
from service.codecs import ARROW_MEDIA_TYPE


def batch_run(url: str, bodies: dict, token: str | None, n: int, f: str, args: argparse.Namespace) -> Run:
    """One connection sending the `n`-record body in format `f` (see ARROW_ANSWERED) for up to the batch budget."""
    body_format = ARROW_ANSWERED.get(f, f)
    query = f"?dataset={bodies['dataset']}&model={bodies['model']}"
    path = "/predict/batch" + ("" if body_format == "json" else query)
    headers = ({"Authorization": f"Bearer {token}"} if token else {}) | {"content-type": BATCH_FORMATS[body_format]}
    if f in ARROW_ANSWERED:
        headers["accept"] = ARROW_MEDIA_TYPE
    body = [bodies["batch"][n][body_format]]
    run = load(url, path, body, headers=headers, requests=args.batch_requests, seconds=args.batch_seconds, warmup=1)
    if run.requests < 3 and not run.errors:  # a slow server still gets three timed requests
        run = load(url, path, body, headers=headers, requests=3, seconds=float("inf"), warmup=0)
    return run


def limit_records_per_s(model: Model, rows: Sequence[dict], seconds: float) -> float:
    """What no server can beat: preprocessing from the records + onnxruntime, here, pinned to the server core."""
    pin(0, SERVER_CORE)
    try:
        return len(rows) / median_seconds(lambda: model.run(model.preprocessor.transform(rows)), seconds, least=3, most=200)
    finally:
        pin(0, CLIENT_CORE)


def measure(
    url: str, token: str, bodies: dict, model: Model, rows: Sequence[dict], formats: Sequence[str], args: argparse.Namespace
) -> dict:
    """{size: {"limits": [...], format: {"records_per_s": [...], "ratios": [...], "median_ratio", "errors"}}}."""
    results: dict = {}
    for n in args.batch_sizes:
        by_size: dict = {"limits": []}
        for _ in range(args.batch_rounds):
            limit = limit_records_per_s(model, rows[:n], max(args.batch_seconds, 0.2))
            by_size["limits"].append(round(limit, 1))
            for f in formats:
                run = batch_run(url, bodies, token, n, f, args).summary(records_per_request=n)
                entry = by_size.setdefault(f, {"records_per_s": [], "ratios": [], "errors": 0})
                entry["records_per_s"].append(run["records_per_s"])
                entry["ratios"].append(round(run["records_per_s"] / limit, 3))
                entry["errors"] += run["errors"]
        for f in formats:
            by_size[f]["median_ratio"] = statistics.median(by_size[f]["ratios"])
        results[n] = by_size
    return results
