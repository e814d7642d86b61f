"""The serving benchmark, end to end over loopback HTTP, in one command (under 10 minutes with the defaults):

    python -m bench.serving [--artifacts artifacts]

For each model: our service (`python -m service`: uvicorn, one worker, onnxruntime) and the baseline
(bench.flask_keras: Flask + Keras `model.predict`, the common research-prototype way) each answer /predict at 1, 8 and 32
concurrent connections and /predict/batch at 1 to 10,000 records, from the same client and the same real
records; then Keras against onnxruntime in-process (bench.inprocess). The server runs pinned to core 1 and
the client to core 0. Prints the tables with our/baseline ratios, writes bench/results/serving.json and .md.
"""

import argparse
import json
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from bench import report
from bench.client import load
from bench.inprocess import SIZES
from bench.processes import CLIENT_CORE, SERVER_CORE, TWO_CORES, free_port, pin, serve
from bench.records import REPO, real_records
from inference import INFERENCE_ROWS
from preprocess.metadata import load_metadata
from preprocess.transform import Preprocessor

MODELS = (
    "nsl-kdd-multiclass-cnn",
    "nsl-kdd-multiclass-cnn-lstm",
    "nf-bot-iot-v2-multiclass-cnn",
    "nf-bot-iot-v2-multiclass-cnn-lstm",
)
CONNECTIONS = (1, 8, 32)
# The product's serving targets (throughput against the baseline, records/s in batches), checked, not asserted,
# at the end of every run.
TARGET_SINGLE_RATIO, TARGET_SINGLE_CONNECTIONS = 10.0, 8
TARGET_BATCH_RECORDS_PER_S, TARGET_BATCH_SIZE = 20_000.0, 1000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"))
    parser.add_argument("--models", nargs="+", default=list(MODELS), help="model ids (folders under --artifacts)")
    parser.add_argument("--connections", nargs="+", type=int, default=list(CONNECTIONS))
    parser.add_argument("--requests", type=int, default=5000, help="most /predict requests per level")
    parser.add_argument("--seconds", type=float, default=5.0, help="most seconds per /predict level")
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=list(SIZES))
    parser.add_argument("--batch-requests", type=int, default=20, help="most /predict/batch requests per size")
    parser.add_argument("--batch-seconds", type=float, default=3.0, help="most seconds per batch size (3 requests at least)")
    parser.add_argument("--inprocess-seconds", type=float, default=0.5, help="per model, size and way; 0 skips it")
    parser.add_argument("--out", type=Path, default=report.RESULTS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    missing = [
        f"{args.artifacts / m}/{name}"
        for m in args.models
        for name in ("metadata.json", "model.onnx", "model.keras")
        if not (args.artifacts / m / name).is_file()
    ]
    if missing:
        print(f"bench.serving: missing {', '.join(missing)} (the baseline needs the trainer's model.keras)", file=sys.stderr)
        return 2
    ctx = report.context()
    began = time.perf_counter()
    pin(0, CLIENT_CORE)
    metas = {m: load_metadata(args.artifacts / m / "metadata.json") for m in args.models}
    datasets = sorted({meta.dataset for meta in metas.values()})
    rows = {d: real_records(d, max(args.batch_sizes), [m for m in metas.values() if m.dataset == d]) for d in datasets}
    bodies = {m: _bodies(meta.dataset, m, rows[meta.dataset], args.batch_sizes) for m, meta in metas.items()}
    results: dict = {"context": ctx, "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}}
    results["settings"] |= {"pinned": TWO_CORES, "client_core": CLIENT_CORE, "server_core": SERVER_CORE}
    results["models"] = {m: {} for m in args.models}

    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        work = Path(tmp)
        largest = max(len(b) for per_model in bodies.values() for b in per_model["batch"].values())
        port = free_port()
        env = {
            "NIDS_ARTIFACTS_DIR": str(args.artifacts.resolve()),
            "NIDS_DATABASE_URL": f"sqlite:///{work / 'nids.db'}",
            "NIDS_JWT_SECRET": secrets.token_urlsafe(48),
            "NIDS_BATCH_LIMIT": str(max(args.batch_sizes)),
            "NIDS_MAX_BODY_BYTES": str(2 * largest),
            "NIDS_HOST": "127.0.0.1",
            "NIDS_PORT": str(port),
        }
        with serve(
            [sys.executable, "-m", "service"], port, work / "service.log", "/readyz", env, cwd=REPO, core=SERVER_CORE
        ) as server:
            results["service"] = {
                "command": "python -m service (uvicorn, 1 worker)",
                "rss_after_start_mb": round(server.rss_mb(), 1),
            }
            headers = {"Authorization": f"Bearer {_token(server.url)}"}
            for m in args.models:
                results["models"][m]["ours"] = _measure(server.url, bodies[m], headers, args)
                print(f"bench.serving: ours, {m}: done", file=sys.stderr, flush=True)
            results["service"]["peak_rss_mb"] = round(server.peak_rss_mb(), 1)

        for m in args.models:
            port = free_port()
            command = [sys.executable, "-m", "bench.flask_keras", str(args.artifacts / m), "--port", str(port)]
            with serve(command, port, work / f"baseline-{m}.log", "/healthz", cwd=REPO, core=SERVER_CORE) as server:
                results["models"][m]["baseline"] = _measure(server.url, bodies[m], {}, args)
                results["models"][m]["baseline"]["peak_rss_mb"] = round(server.peak_rss_mb(), 1)
            print(f"bench.serving: baseline, {m}: done", file=sys.stderr, flush=True)

        if args.inprocess_seconds > 0:
            inprocess = _inprocess(args, metas, rows, work)
            for m in args.models:
                results["models"][m]["inprocess"] = inprocess[m]

    results["seconds"] = round(time.perf_counter() - began, 1)
    results["targets"] = _targets(results, args)
    report.write("serving", results, _markdown(results), args.out)
    return 0


def _bodies(dataset: str, model_id: str, rows: list[dict], batch_sizes: list[int]) -> dict:
    """Request bodies, encoded once: one per row for /predict, one per size for /predict/batch."""
    encode = lambda body: json.dumps(body).encode()  # noqa: E731
    return {
        "single": [encode({"dataset": dataset, "model": model_id, "record": r}) for r in rows],
        "batch": {n: encode({"dataset": dataset, "model": model_id, "records": rows[:n]}) for n in batch_sizes},
    }


def _token(url: str) -> str:
    with httpx.Client(base_url=url, timeout=30) as client:
        user = {"username": f"bench-{secrets.token_hex(5)}", "password": secrets.token_urlsafe(16)}
        client.post("/auth/register", json=user).raise_for_status()
        response = client.post("/auth/token", data=user)
        response.raise_for_status()
        return response.json()["access_token"]


def _measure(url: str, bodies: dict, headers: dict, args: argparse.Namespace) -> dict:
    single = {
        c: load(
            url,
            "/predict",
            bodies["single"],
            headers=headers,
            connections=c,
            requests=args.requests,
            seconds=args.seconds,
            warmup=2 * c,
        ).summary()
        for c in args.connections
    }
    batch = {}
    for n, body in bodies["batch"].items():
        run = load(
            url, "/predict/batch", [body], headers=headers, requests=args.batch_requests, seconds=args.batch_seconds, warmup=1
        )
        if run.requests < 3 and not run.errors:  # a slow server still gets three timed requests
            run = load(url, "/predict/batch", [body], headers=headers, requests=3, seconds=float("inf"), warmup=0)
        batch[n] = run.summary(records_per_request=n)
    return {"single": single, "batch": batch}


def _inprocess(args: argparse.Namespace, metas: dict, rows: dict, work: Path) -> dict:
    """Keras against onnxruntime in a process of its own (TensorFlow stays out of the client), on the server core."""
    inputs = work / "inputs.npz"
    np.savez(inputs, **{m: Preprocessor(meta).transform(rows[meta.dataset]) for m, meta in metas.items()})
    out = work / "inprocess.json"
    command = [
        sys.executable,
        "-m",
        "bench.inprocess",
        "--artifacts",
        str(args.artifacts),
        "--models",
        *args.models,
        "--sizes",
        *map(str, args.batch_sizes),
        "--seconds",
        str(args.inprocess_seconds),
        "--inputs",
        str(inputs),
        "--json",
        str(out),
    ]
    with open(work / "inprocess.log", "wb") as log:
        if subprocess.call(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT) != 0:
            raise RuntimeError(f"bench.inprocess failed: {(work / 'inprocess.log').read_text()[-500:]}")
    return json.loads(out.read_text())


def _ratio(ours: float, baseline: float) -> float:
    return ours / baseline if baseline else float("nan")


def _targets(results: dict, args: argparse.Namespace) -> list[dict]:
    checks = []
    for m, r in results["models"].items():
        if TARGET_SINGLE_CONNECTIONS in args.connections:
            ours, base = (r[side]["single"][TARGET_SINGLE_CONNECTIONS]["requests_per_s"] for side in ("ours", "baseline"))
            target = f"/predict at {TARGET_SINGLE_CONNECTIONS} connections >= {TARGET_SINGLE_RATIO:g}x baseline"
            ratio = _ratio(ours, base)
            checks.append({"model": m, "target": target, "measured": f"{ratio:.1f}x", "met": ratio >= TARGET_SINGLE_RATIO})
        if TARGET_BATCH_SIZE in args.batch_sizes:
            rate = r["ours"]["batch"][TARGET_BATCH_SIZE]["records_per_s"]
            target = f"/predict/batch of {TARGET_BATCH_SIZE:,} >= {TARGET_BATCH_RECORDS_PER_S:,.0f} records/s"
            checks.append(
                {"model": m, "target": target, "measured": f"{rate:,.0f} records/s", "met": rate >= TARGET_BATCH_RECORDS_PER_S}
            )
    return checks


def _percentiles(run: dict, digits: int) -> str:
    return " / ".join(f"{run[p]:.{digits}f}" for p in ("p50_ms", "p90_ms", "p99_ms"))


def _single_table(models: dict) -> str:
    rows = []
    for m, r in models.items():
        for c, o in r["ours"]["single"].items():
            b = r["baseline"]["single"][c]
            ratio = _ratio(o["requests_per_s"], b["requests_per_s"])
            rows.append(
                [
                    m,
                    c,
                    o["requests_per_s"],
                    b["requests_per_s"],
                    f"{ratio:.1f}x",
                    _percentiles(o, 2),
                    _percentiles(b, 1),
                    o["errors"] + b["errors"],
                    o["client_cpu"],
                ]
            )
    headers = [
        "model",
        "connections",
        "ours req/s",
        "baseline req/s",
        "ratio",
        "ours p50/p90/p99 ms",
        "baseline p50/p90/p99 ms",
        "errors",
        "client CPU",
    ]
    return report.table(headers, rows)


def _batch_table(models: dict) -> str:
    rows = []
    for m, r in models.items():
        for n, o in r["ours"]["batch"].items():
            b = r["baseline"]["batch"][n]
            ratio = _ratio(o["records_per_s"], b["records_per_s"])
            rows.append(
                [
                    m,
                    n,
                    o["records_per_s"],
                    b["records_per_s"],
                    f"{ratio:.1f}x",
                    o["p50_ms"],
                    b["p50_ms"],
                    o["requests"],
                    o["errors"] + b["errors"],
                ]
            )
    headers = [
        "model",
        "records",
        "ours records/s",
        "baseline records/s",
        "ratio",
        "ours p50 ms",
        "baseline p50 ms",
        "requests",
        "errors",
    ]
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


def _markdown(results: dict) -> str:
    models, service = results["models"], results["service"]
    memory = [["ours (all models loaded)", service["rss_after_start_mb"], service["peak_rss_mb"]]]
    memory += [[f"baseline {m}", "", r["baseline"]["peak_rss_mb"]] for m, r in models.items()]
    targets = [[t["model"], t["target"], t["measured"], "yes" if t["met"] else "**no**"] for t in results["targets"]]
    pinned = "server pinned to core 1, client to core 0" if results["settings"]["pinned"] else "not pinned (fewer than 2 cores)"
    parts = [
        report.header("Serving benchmark: our service against a Flask + Keras baseline", results["context"]),
        "Ours: `python -m service` (uvicorn, 1 worker, onnxruntime with 1 thread, JWT auth on every request). "
        "Baseline: bench/flask_keras.py, Flask's threaded dev server calling Keras `model.predict` (no auth, no validation). "
        "Same load generator (async httpx, one client per keep-alive connection), same real records; "
        f"{pinned}. Whole run: {results['seconds']:.0f} s.\n",
        "## /predict, one record per request\n",
        _single_table(models),
        "\nclient CPU: CPU seconds the load generator used per wall second; "
        "near 1 means the client, not the server, was the limit.\n",
        "## /predict/batch, one connection\n",
        _batch_table(models),
    ]
    if all("inprocess" in r for r in models.values()):
        parts += ["\n## In-process: Keras against onnxruntime, median ms per batch, one core\n", _inprocess_table(models)]
    parts += ["\n## Peak memory (RSS, MB)\n", report.table(["server", "after start", "peak"], memory)]
    parts += ["\n## Serving targets\n", report.table(["model", "target", "measured", "met"], targets)]
    return "\n".join(parts)


if __name__ == "__main__":
    sys.exit(main())
