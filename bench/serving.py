"""The serving benchmark, end to end over loopback HTTP, in one command (about 10 minutes with the defaults):

    python -m bench.serving [--artifacts artifacts]

Four servers answer the same real records, one after another, each pinned to core 1 with the load generator on
core 0:
- ours: `python -m service` (uvicorn, one worker, JWT auth, validation, limits, logs and metrics);
- the floor: bench/floor.py, a raw ASGI app on uvicorn doing only the JSON, numpy preprocessing and onnxruntime
  (what our service costs above it is the price of everything else);
- BentoML (bench/bento_onnx.py) serving the same ONNX file: the peer a user would pick instead;
- the seed paper's Flask + Keras serving (bench/flask_keras.py), the baseline.

/predict (one record) is loaded by wrk (bench/wrk.py) at 1, 8 and 32 connections; /predict/batch by one wrk
connection at 1 to 10,000 records, in JSON for all and also as CSV and Arrow IPC for ours, against the
in-process limit (numpy preprocessing + onnxruntime on the same rows, no server). Then Keras against
onnxruntime in-process (bench.inprocess). Prints the tables with ratios and the targets (both in bench/serving_report.py),
and writes bench/results/serving.json and .md.
"""

import argparse
import io
import json
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import onnxruntime as ort
import pyarrow as pa
import pyarrow.csv as pa_csv

from bench import batch_rounds, paired, report, serving_report, wrk
from bench.batch_rounds import batch_run, limit_records_per_s
from bench.inprocess import SIZES
from bench.processes import CLIENT_CORE, SERVER_CORE, TWO_CORES, free_port, pin, serve
from bench.records import REPO, real_records
from bench.serving_report import ARROW_ANSWERED, BATCH_FORMATS, SIDES, TARGET_SINGLE_CONNECTIONS
from inference import Model, session_options
from preprocess.metadata import ModelMetadata, load_metadata
from preprocess.transform import Preprocessor

MODELS = (
    "nsl-kdd-multiclass-cnn",
    "nsl-kdd-multiclass-cnn-lstm",
    "nf-bot-iot-v2-multiclass-cnn",
    "nf-bot-iot-v2-multiclass-cnn-lstm",
)
CONNECTIONS = (1, 8, 32)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"))
    parser.add_argument("--models", nargs="+", default=list(MODELS), help="model ids (folders under --artifacts)")
    parser.add_argument("--sides", nargs="+", default=list(SIDES), choices=list(SIDES), help="servers to measure")
    parser.add_argument("--connections", nargs="+", type=int, default=list(CONNECTIONS))
    parser.add_argument("--seconds", type=float, default=5.0, help="wrk seconds per /predict level (whole seconds, 1 at least)")
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=list(SIZES))
    parser.add_argument(
        "--batch-seconds",
        type=float,
        default=2.0,
        help="wrk seconds per batch size and format (whole, 1 at least)",
    )
    parser.add_argument(
        "--batch-rounds",
        type=int,
        default=3,
        help="rounds of the in-process limit and ours alternating (the batch targets); 0 skips",
    )
    parser.add_argument("--inprocess-seconds", type=float, default=0.5, help="per model, size and way; 0 skips it")
    parser.add_argument(
        "--pairs", type=int, default=5, help="rounds of ours and the floor alternating at 8 connections (the target); 0 skips"
    )
    parser.add_argument("--out", type=Path, default=report.RESULTS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    needed = ["metadata.json", "model.onnx"] + (["model.keras"] if "baseline" in args.sides else [])
    missing = [
        f"{args.artifacts / m}/{name}" for m in args.models for name in needed if not (args.artifacts / m / name).is_file()
    ]
    if missing:
        print(f"bench.serving: missing {', '.join(missing)} (the baseline needs the trainer's model.keras)", file=sys.stderr)
        return 2
    if not wrk.available():
        print("bench.serving: wrk is not installed (Debian: apt-get install wrk, or bash .ci/bench-tools.sh)", file=sys.stderr)
        return 2
    ctx = report.context()
    began = time.perf_counter()
    pin(0, CLIENT_CORE)
    metas = {m: load_metadata(args.artifacts / m / "metadata.json") for m in args.models}
    datasets = sorted({meta.dataset for meta in metas.values()})
    rows = {d: real_records(d, max(args.batch_sizes), [m for m in metas.values() if m.dataset == d]) for d in datasets}
    bodies = {m: _bodies(meta.dataset, m, rows[meta.dataset], args.batch_sizes) for m, meta in metas.items()}
    models = {m: _model(args.artifacts / m, meta) for m, meta in metas.items()}
    results: dict = {"context": ctx, "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}}
    results["settings"] |= {"pinned": TWO_CORES, "client_core": CLIENT_CORE, "server_core": SERVER_CORE}
    results["models"] = {m: {} for m in args.models}
    results["servers"] = {}

    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        work = Path(tmp)
        if "ours" in args.sides:
            _measure_ours(args, bodies, results, work, {m: (models[m], rows[meta.dataset]) for m, meta in metas.items()})
        for side, command in (("floor", _floor_command), ("bentoml", _bentoml_command), ("baseline", _flask_command)):
            if side not in args.sides:
                continue
            for m in args.models:
                port = free_port()
                argv_, env, ready = command(args.artifacts / m, port)
                with serve(argv_, port, work / f"{side}-{m}.log", ready, env, cwd=REPO, core=SERVER_CORE) as server:
                    results["models"][m][side] = _measure(server.url, bodies[m], None, args, formats=("json",))
                    results["models"][m][side]["peak_rss_mb"] = round(server.peak_rss_mb(), 1)
                print(f"bench.serving: {side}, {m}: done", file=sys.stderr, flush=True)
        if {"ours", "floor"} <= set(args.sides) and args.pairs > 0:
            _measure_pairs(args, bodies, results, work)
        for m, meta in metas.items():
            results["models"][m]["inprocess_limit"] = _inprocess_limit(models[m], rows[meta.dataset], args)
        if args.inprocess_seconds > 0 and "baseline" in args.sides:
            inprocess = _inprocess(args, metas, rows, work)
            for m in args.models:
                results["models"][m]["inprocess"] = inprocess[m]

    results["seconds"] = round(time.perf_counter() - began, 1)
    results["targets"] = serving_report.targets(results, args)
    report.write("serving", results, serving_report.markdown(results), args.out)
    return 0


def _bodies(dataset: str, model_id: str, rows: list[dict], batch_sizes: list[int]) -> dict:
    """Request bodies, encoded once: one per row for /predict, one per size and format for /predict/batch."""

    def encode(body: dict) -> bytes:
        return json.dumps(body).encode()

    batch = {}
    for n in batch_sizes:
        table = pa.Table.from_pylist(rows[:n])
        csv, arrow = io.BytesIO(), io.BytesIO()
        pa_csv.write_csv(table, csv)
        with pa.ipc.new_stream(arrow, table.schema) as writer:
            writer.write_table(table)
        batch[n] = {
            "json": encode({"dataset": dataset, "model": model_id, "records": rows[:n]}),
            "csv": csv.getvalue(),
            "arrow": arrow.getvalue(),
        }
    return {
        "dataset": dataset,
        "model": model_id,
        "single": [encode({"dataset": dataset, "model": model_id, "record": r}) for r in rows[:1000]],
        "batch": batch,
    }


def _model(model_dir: Path, meta: ModelMetadata) -> Model:
    """The model as the service loads it (its session options and pieces), for the in-process limit."""
    session = ort.InferenceSession(str(model_dir / meta.onnx.file), session_options(), providers=["CPUExecutionProvider"])
    return Model(meta, session)


def _measure_ours(args: argparse.Namespace, bodies: dict, results: dict, work: Path, limits: dict) -> None:
    """`limits`: model id -> (the model in this process, its rows), for the batch rounds against the limit."""
    with _serve_ours(args, bodies, work) as server:
        results["servers"]["ours"] = {
            "command": "python -m service (uvicorn, 1 worker)",
            "rss_after_start_mb": round(server.rss_mb(), 1),
        }
        token = _token(server.url)
        for m in args.models:
            formats = (*BATCH_FORMATS, *ARROW_ANSWERED)
            results["models"][m]["ours"] = _measure(server.url, bodies[m], token, args, formats)
            if args.batch_rounds:
                model, rows = limits[m]
                results["models"][m]["ours"]["batch_rounds"] = batch_rounds.measure(
                    server.url, token, bodies[m], model, rows, formats, args
                )
            _check_same_answers(server.url, bodies[m], token)
            print(f"bench.serving: ours, {m}: done", file=sys.stderr, flush=True)
        results["servers"]["ours"]["peak_rss_mb"] = round(server.peak_rss_mb(), 1)


def _measure_pairs(args: argparse.Namespace, bodies: dict, results: dict, work: Path) -> None:
    """Ours and each model's floor running at once, loaded in turn (bench.paired)."""
    with _serve_ours(args, bodies, work, "paired-") as ours:
        token = _token(ours.url)
        for m in args.models:
            port = free_port()
            argv_, env, ready = _floor_command(args.artifacts / m, port)
            with serve(argv_, port, work / f"paired-floor-{m}.log", ready, env, cwd=REPO, core=SERVER_CORE) as floor:
                results["models"][m]["paired"] = paired.measure(
                    ours.url, token, floor.url, bodies[m]["single"], TARGET_SINGLE_CONNECTIONS, args.seconds, args.pairs
                )
            print(f"bench.serving: ours and the floor in pairs, {m}: done", file=sys.stderr, flush=True)


def _serve_ours(args: argparse.Namespace, bodies: dict, work: Path, prefix: str = ""):
    largest = max(len(b) for per_model in bodies.values() for sizes in per_model["batch"].values() for b in sizes.values())
    port = free_port()
    env = {
        "NIDS_ARTIFACTS_DIR": str(args.artifacts.resolve()),
        "NIDS_DATABASE_URL": f"sqlite:///{work / f'{prefix}nids.db'}",
        "NIDS_JWT_SECRET": secrets.token_urlsafe(48),
        "NIDS_BATCH_LIMIT": str(max(args.batch_sizes)),
        "NIDS_MAX_BODY_BYTES": str(2 * largest),
        "NIDS_HOST": "127.0.0.1",
        "NIDS_PORT": str(port),
    }
    return serve(
        [sys.executable, "-m", "service"], port, work / f"{prefix}service.log", "/readyz", env, cwd=REPO, core=SERVER_CORE
    )


def _floor_command(model_dir: Path, port: int) -> tuple[list[str], dict, str]:
    return [sys.executable, "-m", "bench.floor", str(model_dir), "--port", str(port)], {}, "/healthz"


def _bentoml_command(model_dir: Path, port: int) -> tuple[list[str], dict, str]:
    command = [sys.executable, "-m", "bentoml", "serve", "bench.bento_onnx:NidsOnnx", "--host", "127.0.0.1", "--port", str(port)]
    env = {"NIDS_BENCH_MODEL_DIR": str(model_dir.resolve()), "BENTOML_DO_NOT_TRACK": "true"}
    return command, env, "/readyz"


def _flask_command(model_dir: Path, port: int) -> tuple[list[str], dict, str]:
    return [sys.executable, "-m", "bench.flask_keras", str(model_dir), "--port", str(port)], {}, "/healthz"


def _token(url: str) -> str:
    with httpx.Client(base_url=url, timeout=30) as client:
        user = {"username": f"bench-{secrets.token_hex(5)}", "password": secrets.token_urlsafe(16)}
        client.post("/auth/register", json=user).raise_for_status()
        response = client.post("/auth/token", data=user)
        response.raise_for_status()
        return response.json()["access_token"]


def _measure(url: str, bodies: dict, token: str | None, args: argparse.Namespace, formats: tuple[str, ...]) -> dict:
    single = {}
    for c in args.connections:
        wrk.run(url, "/predict", bodies["single"], token=token, connections=c, seconds=1)  # warm-up: connections, caches
        run = wrk.run(url, "/predict", bodies["single"], token=token, connections=c, seconds=args.seconds)
        if run["requests"] < 3 and not run["errors"]:  # wrk counts finished requests only: a slow server gets longer
            run = wrk.run(url, "/predict", bodies["single"], token=token, connections=c, seconds=max(10.0, 4 * args.seconds))
        single[c] = run
    batch: dict = {f: {} for f in formats}
    for n in bodies["batch"]:
        for f in formats:
            batch[f][n] = batch_run(url, bodies, token, n, f, args)
    return {"single": single, "batch": batch}


def _check_same_answers(url: str, bodies: dict, token: str) -> None:
    """The three batch formats must give the same answers, or their speeds mean nothing."""
    n = min(bodies["batch"])
    headers = {"Authorization": f"Bearer {token}"}
    query = {"dataset": bodies["dataset"], "model": bodies["model"]}
    with httpx.Client(base_url=url, timeout=300, headers=headers) as client:
        answers = {}
        for f, media_type in BATCH_FORMATS.items():
            params = None if f == "json" else query
            content = bodies["batch"][n][f]
            answers[f] = client.post(
                "/predict/batch", params=params, content=content, headers={"content-type": media_type}
            ).json()
    if not answers["json"] == answers["csv"] == answers["arrow"]:
        raise RuntimeError(f"/predict/batch answers differ between formats: { {f: str(a)[:200] for f, a in answers.items()} }")


def _inprocess_limit(model: Model, rows: list[dict], args: argparse.Namespace) -> dict:
    """Records/s of numpy preprocessing + onnxruntime (the service's session options and pieces) on the same
    rows in this process, on the server's core: what no server can beat."""
    limit = {}
    for n in args.batch_sizes:
        records_per_s = limit_records_per_s(model, rows[:n], max(args.batch_seconds, 0.2))
        limit[n] = {"ms": round(n / records_per_s * 1e3, 3), "records_per_s": round(records_per_s, 1)}
    return limit


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


if __name__ == "__main__":
    sys.exit(main())
