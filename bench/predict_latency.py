"""Latency of one /predict and records per second of /predict/batch, over loopback against a running service.

    NIDS_DATABASE_URL=sqlite:////tmp/bench/nids.db uvicorn service.main:app --no-access-log &
    python bench/predict_latency.py --dataset nsl-kdd

Requests carry real test rows; the service's default model for the dataset answers.
"""

import argparse
import os
import statistics
import time
import uuid
from pathlib import Path

import httpx

from trainer.datasets import DATASETS
from trainer.load import read_table

REAL_ROWS = {"nsl-kdd": "nsl-kdd/KDDTest+.txt.gz", "nf-bot-iot-v2": "bot-iot/nf_bot_iot_v2_train.csv.gz"}
DATA_DIR = Path(os.environ.get("NIDS_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "datasets"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--dataset", default="nsl-kdd", choices=sorted(REAL_ROWS))
    parser.add_argument("--singles", type=int, default=500)
    parser.add_argument("--batches", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args()

    frame = read_table(DATASETS[args.dataset], DATA_DIR / REAL_ROWS[args.dataset])
    rows = frame.sample(n=args.batch_size, random_state=0).to_dict("records")

    with httpx.Client(base_url=args.url, timeout=60) as client:
        username, password = f"bench-{uuid.uuid4().hex[:10]}", "bench password"
        client.post("/auth/register", json={"username": username, "password": password}).raise_for_status()
        token = client.post("/auth/token", data={"username": username, "password": password}).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"

        def predict(i: int) -> float:
            start = time.perf_counter()
            client.post("/predict", json={"dataset": args.dataset, "record": rows[i % len(rows)]}).raise_for_status()
            return time.perf_counter() - start

        for i in range(20):  # warm-up: connection, thread pool, caches
            predict(i)
        latencies = [predict(i) for i in range(args.singles)]
        cut = [f"p{p} {statistics.quantiles(latencies, n=100)[p - 1] * 1e3:.2f} ms" for p in (50, 90, 99)]
        print(f"/predict, {args.singles} sequential requests: {', '.join(cut)}")

        rates = []
        for _ in range(args.batches):
            start = time.perf_counter()
            response = client.post("/predict/batch", json={"dataset": args.dataset, "records": rows})
            elapsed = time.perf_counter() - start
            response.raise_for_status()
            assert len(response.json()["predictions"]) == len(rows)
            rates.append(len(rows) / elapsed)
        print(
            f"/predict/batch, {len(rows)} records x {args.batches}: median {statistics.median(rates):,.0f} records/s "
            f"(min {min(rates):,.0f}, max {max(rates):,.0f})"
        )


if __name__ == "__main__":
    main()
