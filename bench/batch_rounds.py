"""/predict/batch against the in-process limit, and how the batch targets are judged: in alternating rounds.

The limit (numpy preprocessing + onnxruntime on the same rows, in this process on the server core) moves by 10-20 %
within a minute on this shared machine, so a limit measured once, away from the served runs, can make the same code
look 20 points better or worse. Here each served run of a body format is paired with a limit measured right before
it (the server idle while the limit runs, on the same core), the formats in turn, `rounds` times; a target is judged
on the median of the rounds' ratios.
"""

import argparse
import statistics
from collections.abc import Sequence

from bench import wrk
from bench.inprocess import median_seconds
from bench.processes import CLIENT_CORE, SERVER_CORE, pin
from bench.serving_report import ARROW_ANSWERED, BATCH_FORMATS
from inference import Model
from service.codecs import ARROW_MEDIA_TYPE


def batch_run(url: str, bodies: dict, token: str | None, n: int, f: str, args: argparse.Namespace) -> dict:
    """One wrk connection posting the `n`-record body in format `f` (see ARROW_ANSWERED) for the batch budget.

    Records/s is `n` over the median request time, as the limit is `n` over the median call time: both robust to
    the odd slow moment of this shared machine, and wrk's own time between requests is microseconds."""
    body_format = ARROW_ANSWERED.get(f, f)
    query = f"?dataset={bodies['dataset']}&model={bodies['model']}"
    path = "/predict/batch" + ("" if body_format == "json" else query)
    headers = {"content-type": BATCH_FORMATS[body_format]} | ({"accept": ARROW_MEDIA_TYPE} if f in ARROW_ANSWERED else {})
    body = [bodies["batch"][n][body_format]]
    wrk.run(url, path, body, token=token, connections=1, seconds=1, headers=headers)  # warm-up
    run = wrk.run(url, path, body, token=token, connections=1, seconds=args.batch_seconds, headers=headers)
    if run["requests"] < 3 and not run["errors"]:  # wrk counts finished requests only: a slow server gets longer
        run = wrk.run(url, path, body, token=token, connections=1, seconds=4 * max(args.batch_seconds, 1), headers=headers)
    return run | {"records_per_s": round(n / run["p50_ms"] * 1e3, 1) if run["requests"] else 0.0}


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
    """{size: {"limits": [each round's median limit], format: {"limits": [...], "records_per_s": [...], "ratios": [...],
    "median_ratio", "errors"}}}."""
    results: dict = {}
    for n in args.batch_sizes:
        by_size: dict = {"limits": []}
        for _ in range(args.batch_rounds):
            round_limits = []
            for f in formats:
                limit = limit_records_per_s(model, rows[:n], max(args.batch_seconds, 0.2))
                round_limits.append(limit)
                run = batch_run(url, bodies, token, n, f, args)
                entry = by_size.setdefault(f, {"limits": [], "records_per_s": [], "ratios": [], "errors": 0})
                entry["limits"].append(round(limit, 1))
                entry["records_per_s"].append(run["records_per_s"])
                entry["ratios"].append(round(run["records_per_s"] / limit, 3))
                entry["errors"] += run["errors"]
            by_size["limits"].append(round(statistics.median(round_limits), 1))
        for f in formats:
            by_size[f]["median_ratio"] = statistics.median(by_size[f]["ratios"])
        results[n] = by_size
    return results
