"""Soak test: 64 concurrent clients mixing logins, single and batch predictions against the real
server (`python -m service`: uvicorn with 2 worker processes), started here on loopback and stopped
at the end. Exits non-zero on any 5xx answer or connection error, or when the workers' memory grows.

    python -m bench.soak [--duration 60] [--clients 64] [--workers 2]

Requests carry the real test records shipped in each dataset's default model metadata. After a
warm-up (not counted: at least --warmup seconds and --warmup-requests answers) the load runs for
--duration seconds; the workers' resident memory (summed over the worker processes) is read after
the warm-up and at the end.
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
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
import psutil

from bench.processes import Server, ServerNotReady, free_port, serve

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # loopback only
MIX = (("login", 0.05), ("single", 0.75), ("batch", 0.20))
USERS = 8
PASSWORD = "soak test password"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of measured load (default 60)")
    parser.add_argument("--warmup", type=float, default=10.0, help="least seconds of load before measuring (default 10)")
    parser.add_argument(
        "--warmup-requests", type=int, default=2000, help="least answers before measuring, so every worker thread has run"
    )
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--artifacts", type=Path, default=REPO / "artifacts")
    parser.add_argument("--database-url", help="default: a new SQLite file in a temporary folder")
    parser.add_argument("--max-memory-growth", type=float, default=0.10, help="allowed growth of the workers' RSS")
    return parser.parse_args()


def real_records(artifacts: Path) -> dict[str, list[dict]]:
    """dataset -> the example records (one real test row per class) of its default model."""
    index = json.loads((artifacts / "index.json").read_text())
    paths = {entry["id"]: entry["path"] for entry in index["models"]}
    return {
        dataset: list(json.loads((artifacts / paths[model_id] / "metadata.json").read_text())["examples"].values())
        for dataset, model_id in index["dataset_defaults"].items()
    }


def server_environment(args: argparse.Namespace, folder: Path, port: int) -> dict[str, str]:
    return {
        "NIDS_ARTIFACTS_DIR": str(args.artifacts),
        "NIDS_DATABASE_URL": args.database_url or f"sqlite:///{folder / 'soak.db'}",
        "NIDS_JWT_SECRET": secrets.token_urlsafe(48),
        "NIDS_HOST": HOST,
        "NIDS_PORT": str(port),
        "NIDS_WORKERS": str(args.workers),
        "NIDS_REGISTER_LIMIT_PER_CLIENT": f"{USERS}/minute",  # the users are registered from this one address
    }


def workers_rss_mb(server: Server) -> float:
    """Resident memory summed over uvicorn's worker processes (the server itself when it has none)."""
    master = psutil.Process(server.process.pid)
    processes = master.children(recursive=True) or [master]
    return sum(p.memory_info().rss for p in processes) / 2**20


class Tally:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter = Counter()
        self.connection_errors: Counter = Counter()


async def client_loop(
    number: int, url: str, records: dict[str, list[dict]], batch_size: int, tallies: list[Tally], stop: asyncio.Event
) -> None:
    """One client on its own connection: log in, then requests drawn from MIX until told to stop.
    Answers are tallied into tallies[-1], so the warm-up and the measured run count apart."""
    rng = random.Random(number)
    username = f"soak-{number % USERS}"
    kinds, weights = zip(*MIX, strict=True)
    datasets = sorted(records)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=1)) as client:
        headers: dict[str, str] = {}
        kind = "login"
        while not stop.is_set():
            dataset = rng.choice(datasets)
            if kind == "login":
                request = client.post("/auth/token", data={"username": username, "password": PASSWORD})
            elif kind == "single":
                body = {"dataset": dataset, "record": rng.choice(records[dataset])}
                request = client.post("/predict", json=body, headers=headers)
            else:
                batch = [records[dataset][i % len(records[dataset])] for i in range(batch_size)]
                request = client.post("/predict/batch", json={"dataset": dataset, "records": batch}, headers=headers)
            tally = tallies[-1]
            started = time.perf_counter()
            try:
                response = await request
            except httpx.TransportError as exc:
                tally.connection_errors[type(exc).__name__] += 1
                await asyncio.sleep(0.1)
                continue
            tally.latencies[kind].append(time.perf_counter() - started)
            tally.statuses[response.status_code] += 1
            if kind == "login" and response.status_code == 200:
                headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
            kind = rng.choices(kinds, weights)[0] if headers else "login"


def percentile_ms(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] * 1e3 if len(values) > 1 else values[0] * 1e3


async def run_load(args: argparse.Namespace, server: Server, records: dict) -> tuple[Tally, tuple[float, int], float, float]:
    """The measured tally, the warm-up's (seconds, answers), and the workers' RSS after the warm-up and at the end."""
    url = server.url
    async with httpx.AsyncClient(base_url=url) as setup:
        for i in range(USERS):
            response = await setup.post("/auth/register", json={"username": f"soak-{i}", "password": PASSWORD})
            if response.status_code not in (201, 409):
                sys.exit(f"soak: registering a user answered {response.status_code}: {response.text}")
    tallies = [Tally()]
    stop = asyncio.Event()
    clients = [asyncio.create_task(client_loop(i, url, records, args.batch_size, tallies, stop)) for i in range(args.clients)]
    started = time.monotonic()
    while time.monotonic() - started < args.warmup or sum(tallies[0].statuses.values()) < args.warmup_requests:
        await asyncio.sleep(0.5)
    rss_after_warmup = workers_rss_mb(server)
    warmup = (time.monotonic() - started, sum(tallies[0].statuses.values()))
    tallies.append(Tally())
    await asyncio.sleep(args.duration)
    stop.set()
    await asyncio.gather(*clients)
    return tallies[-1], warmup, rss_after_warmup, workers_rss_mb(server)


def main() -> None:
    args = parse_args()
    records = real_records(args.artifacts)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="nids-soak-") as folder:
        port, log = free_port(), Path(folder) / "server.log"
        command = [sys.executable, "-m", "service"]
        try:
            with serve(command, port, log, "/readyz", server_environment(args, Path(folder), port), cwd=REPO) as server:
                tally, warmup, rss_warm, rss_end = asyncio.run(run_load(args, server, records))
        except ServerNotReady as error:
            sys.exit(f"soak: {error}")
        server_log = log.read_text(errors="replace")

    requests = sum(tally.statuses.values())
    server_errors = sum(n for status, n in tally.statuses.items() if status >= 500)
    connection_errors = sum(tally.connection_errors.values())
    everything = [latency for latencies in tally.latencies.values() for latency in latencies]
    growth = rss_end / rss_warm - 1
    print(
        f"soak: {args.clients} clients, {args.workers} workers, batches of {args.batch_size}, {args.duration:.0f} s "
        f"measured after a warm-up of {warmup[0]:.0f} s and {warmup[1]} requests; machine load average "
        f"{load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after ({os.cpu_count()} cores)"
    )
    print(f"requests: {requests} ({requests / args.duration:.0f}/s); statuses: {dict(sorted(tally.statuses.items()))}")
    print(f"5xx: {server_errors}; connection errors: {connection_errors} {dict(tally.connection_errors) or ''}".rstrip())
    for kind, latencies in [("all", everything), *sorted(tally.latencies.items())]:
        print(
            f"  {kind:<6} n={len(latencies):>6}  p50 {percentile_ms(latencies, 50):8.1f} ms  "
            f"p99 {percentile_ms(latencies, 99):8.1f} ms"
        )
    print(f"workers' RSS: {rss_warm:.0f} MiB after warm-up, {rss_end:.0f} MiB at the end ({growth:+.1%})")
    print(f"server log: {server_log.count('Traceback')} tracebacks, {server_log.count('unhandled')} unhandled errors")
    failures = [
        f"{server_errors} 5xx answers" if server_errors else "",
        f"{connection_errors} connection errors" if connection_errors else "",
        f"memory grew {growth:.1%} (> {args.max_memory_growth:.0%})" if growth > args.max_memory_growth else "",
        "tracebacks in the server log" if "Traceback" in server_log else "",
    ]
    if failed := [f for f in failures if f]:
        sys.exit("soak: FAILED: " + "; ".join(failed))
    print("soak: passed")


if __name__ == "__main__":
    main()
