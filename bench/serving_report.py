"""What bench.serving checks and writes: the targets (checked, not asserted, at the end of every run) and the
Markdown tables of bench/results/serving.md."""

import argparse

from bench import report
from inference import INFERENCE_ROWS
from service.codecs import ARROW_MEDIA_TYPE, CSV_MEDIA_TYPE

# Sides in table order; "baseline" is the seed paper's Flask + Keras.
SIDES = {"ours": "ours", "floor": "floor (raw ASGI)", "bentoml": "BentoML", "baseline": "Flask + Keras"}
BATCH_FORMATS = {"json": "application/json", "csv": CSV_MEDIA_TYPE, "arrow": ARROW_MEDIA_TYPE}
# Columnar bodies answered as an Arrow stream (Accept: ARROW_MEDIA_TYPE) rather than JSON: format -> its body's format.
ARROW_ANSWERED = {"csv→arrow": "csv", "arrow→arrow": "arrow"}
TARGET_SINGLE_CONNECTIONS, TARGET_SINGLE_OF_FLOOR, TARGET_SINGLE_P99_MS = 8, 0.60, 10.0
TARGET_BATCH_SIZES = (1000, 10_000)
TARGET_BATCH_OF_LIMIT = {"json": 0.60, "csv": 0.80, "arrow": 0.80, "csv→arrow": 0.80, "arrow→arrow": 0.80}


def _ratio(ours: float, other: float) -> float:
    return ours / other if other else float("nan")


def targets(results: dict, args: argparse.Namespace) -> list[dict]:
    checks = []
    for m, r in results["models"].items():
        if "ours" not in r:
            continue
        single = _single_against_floor(r, args)
        if single is not None:
            share, p99, how = single
            least, connections = TARGET_SINGLE_OF_FLOOR, TARGET_SINGLE_CONNECTIONS
            target = f"/predict at {connections} connections >= {least:.0%} of the floor's requests/s ({how})"
            checks.append({"model": m, "target": target, "measured": f"{share:.0%}", "met": share >= least})
            target = f"/predict at {connections} connections: p99 <= {TARGET_SINGLE_P99_MS:g} ms ({how})"
            checks.append({"model": m, "target": target, "measured": f"{p99:.1f} ms", "met": p99 <= TARGET_SINGLE_P99_MS})
        for n in TARGET_BATCH_SIZES:
            if n not in args.batch_sizes:
                continue
            rounds = r["ours"].get("batch_rounds", {}).get(n)
            how = f"median of {len(rounds['limits'])} alternating rounds" if rounds else "one run each"
            for f, least in TARGET_BATCH_OF_LIMIT.items():
                if rounds:
                    share = rounds[f]["median_ratio"]
                else:
                    share = _ratio(r["ours"]["batch"][f][n]["records_per_s"], r["inprocess_limit"][n]["records_per_s"])
                target = f"/predict/batch of {n:,} as {f} >= {least:.0%} of the in-process limit ({how})"
                checks.append({"model": m, "target": target, "measured": f"{share:.0%}", "met": share >= least})
    return checks


def _single_against_floor(r: dict, args: argparse.Namespace) -> tuple[float, float, str] | None:
    """(ours / floor, our p99 ms, how measured): from the alternating pairs when they ran, else from the one run each."""
    if "paired" in r:
        p = r["paired"]
        return p["median_ratio"], p["median_p99_ms"]["ours"], f"median of {p['rounds']} alternating pairs"
    if TARGET_SINGLE_CONNECTIONS in args.connections and "floor" in r and "ours" in r:
        ours, floor = r["ours"]["single"][TARGET_SINGLE_CONNECTIONS], r["floor"]["single"][TARGET_SINGLE_CONNECTIONS]
        return _ratio(ours["requests_per_s"], floor["requests_per_s"]), ours["p99_ms"], "one run each"
    return None


def _paired_table(models: dict) -> str:
    headers = ["model", "ours req/s, median", "floor req/s, median", "ours / floor, each round", "median of the ratios"]
    headers += ["ours p99 ms, median", "floor p99 ms, median", "errors"]
    rows = [
        [
            m,
            f"{p['median_requests_per_s']['ours']:,.0f}",
            f"{p['median_requests_per_s']['floor']:,.0f}",
            " ".join(f"{x:.0%}" for x in p["ratios"]),
            f"{p['median_ratio']:.0%}",
            f"{p['median_p99_ms']['ours']:.1f}",
            f"{p['median_p99_ms']['floor']:.1f}",
            p["errors"],
        ]
        for m, r in models.items()
        if (p := r.get("paired"))
    ]
    return report.table(headers, rows)


def _percentiles(run: dict) -> str:
    return " / ".join(f"{run[p]:.1f}" for p in ("p50_ms", "p90_ms", "p99_ms"))


def _single_table(models: dict) -> str:
    sides = [s for s in SIDES if any(s in r for r in models.values())]
    headers = ["model", "connections"] + [f"{SIDES[s]} req/s" for s in sides]
    headers += [f"ours / {SIDES[s]}" for s in sides if s != "ours"] + [f"{SIDES[s]} p50/p90/p99 ms" for s in sides] + ["errors"]
    rows = []
    for m, r in models.items():
        for c in r[sides[0]]["single"]:
            runs = {s: r[s]["single"][c] for s in sides}
            row = [m, c] + [runs[s]["requests_per_s"] for s in sides]
            if "ours" in runs:
                row += [f"{_ratio(runs['ours']['requests_per_s'], runs[s]['requests_per_s']):.2f}x" for s in sides if s != "ours"]
            row += [_percentiles(runs[s]) for s in sides] + [sum(run["errors"] for run in runs.values())]
            rows.append(row)
    return report.table(headers, rows)


def _batch_table(models: dict) -> str:
    """Records/s per side and format, and each as a share of the in-process limit."""
    columns = [
        (s, f) for s in SIDES for f in TARGET_BATCH_OF_LIMIT if any(f in r.get(s, {}).get("batch", {}) for r in models.values())
    ]
    headers = (
        ["model", "records", "in-process limit records/s"]
        + [f"{SIDES[s]} {f} records/s (of limit)" for s, f in columns]
        + ["errors"]
    )
    rows = []
    for m, r in models.items():
        for n, limit in r["inprocess_limit"].items():
            row = [m, n, limit["records_per_s"]]
            errors = 0
            for s, f in columns:
                run = r[s]["batch"][f][n]
                row.append(f"{run['records_per_s']:,.0f} ({_ratio(run['records_per_s'], limit['records_per_s']):.0%})")
                errors += run["errors"]
            rows.append([*row, errors])
    return report.table(headers, rows)


def _batch_rounds_table(models: dict) -> str:
    headers = [
        "model",
        "records",
        "limit records/s, each round (median of its formats' limits)",
        *(f"{f}: ours / limit, each round (median)" for f in TARGET_BATCH_OF_LIMIT),
    ]
    rows = []
    for m, r in models.items():
        for n, rounds in r.get("ours", {}).get("batch_rounds", {}).items():
            shares = [
                f"{' '.join(f'{x:.0%}' for x in rounds[f]['ratios'])} (**{rounds[f]['median_ratio']:.0%}**)"
                for f in TARGET_BATCH_OF_LIMIT
            ]
            rows.append([m, n, " ".join(f"{x:,.0f}" for x in rounds["limits"]), *shares])
    return report.table(headers, rows)


def _inprocess_table(models: dict) -> str:
    rows = []
    for m, r in models.items():
        for n, ms in r["inprocess"].items():
            served = ms["onnxruntime_served"]
            rows.append(
                [
                    m,
                    n,
                    ms["keras_predict"],
                    ms["keras_call"],
                    ms["keras_tf_function"],
                    ms["onnxruntime"],
                    served,
                    f"{_ratio(ms['keras_tf_function'], served):.1f}x",
                    f"{_ratio(ms['keras_predict'], served):.0f}x",
                ]
            )
    headers = [
        "model",
        "batch",
        "keras predict()",
        "keras model(x)",
        "keras tf.function",
        "ort, one call",
        f"ort, {INFERENCE_ROWS}-row pieces (served)",
        "tf.function/served",
        "predict()/served",
    ]
    return report.table(headers, rows)


def markdown(results: dict) -> str:
    models = results["models"]
    ours = results["servers"].get("ours")
    memory = [["ours (all models loaded)", ours["rss_after_start_mb"], ours["peak_rss_mb"]]] if ours else []
    memory += [
        [f"{SIDES[s]} {m}", "", r[s]["peak_rss_mb"]]
        for s in ("floor", "bentoml", "baseline")
        for m, r in models.items()
        if s in r
    ]
    targets = [[t["model"], t["target"], t["measured"], "yes" if t["met"] else "**no**"] for t in results["targets"]]
    pinned = (
        "servers pinned to core 1, load generators to core 0"
        if results["settings"]["pinned"]
        else "not pinned (fewer than 2 cores)"
    )
    parts = [
        report.header("Serving benchmark: our service, the floor, BentoML and the paper's Flask + Keras", results["context"]),
        (
            "Ours: `python -m service` (uvicorn, 1 worker, onnxruntime with 1 thread, JWT auth, validation, body limits, JSON "
            "access log, Prometheus metrics). Floor: bench/floor.py, a raw ASGI app on uvicorn doing only JSON + the same numpy "
            "preprocessing + onnxruntime. BentoML: bench/bento_onnx.py, the same ONNX file and preprocessing in a "
            "BentoML service. "
            "Flask + Keras: bench/flask_keras.py, the seed paper's serving. Only ours authenticates or validates. "
            f"Same real records for all; {pinned}. Whole run: {results['seconds']:.0f} s.\n"
        ),
        "## /predict, one record per request (wrk, one thread, keep-alive connections)\n",
        _single_table(models),
    ]
    if any("paired" in r for r in models.values()):
        rounds = next(r["paired"]["rounds"] for r in models.values() if "paired" in r)
        parts += [
            f"\n## /predict, ours and the floor in alternating pairs ({TARGET_SINGLE_CONNECTIONS} connections, "
            f"{rounds} rounds)\n",
            "Both servers run at once on the server core; wrk loads one, then the other, the order swapped every round "
            "(bench/paired.py). The target is judged on these medians.\n",
            _paired_table(models),
        ]
    parts += [
        "\n## /predict/batch, one wrk connection, records/s (records over the median request time) and share of the "
        "in-process limit\n",
        (
            "In-process limit: numpy preprocessing of the records + onnxruntime in pieces of "
            f"{INFERENCE_ROWS} rows, in one process on the server core, no server. Ours also takes CSV and Arrow IPC bodies.\n"
        ),
        _batch_table(models),
    ]
    if any("batch_rounds" in r.get("ours", {}) for r in models.values()):
        parts += [
            "\n## /predict/batch against the in-process limit in alternating rounds (the batch targets)\n",
            "Each round serves every format in turn, each right after a limit measured for it (bench/batch_rounds.py); "
            "the targets are judged on the median of the rounds' ratios.\n",
            _batch_rounds_table(models),
        ]
    if all("inprocess" in r for r in models.values()):
        parts += ["\n## In-process: Keras against onnxruntime, median ms per batch, one core\n", _inprocess_table(models)]
    parts += ["\n## Peak memory (RSS, MB)\n", report.table(["server", "after start", "peak"], memory)]
    parts += ["\n## Targets\n", report.table(["model", "target", "measured", "met"], targets)]
    return "\n".join(parts)
