"""The load generator: an async httpx client on keep-alive connections, bounded by request count and time.

Bodies are encoded once beforehand, so the client spends its time on HTTP, not on JSON.
"""

import asyncio
import time
from dataclasses import dataclass

import httpx
import numpy as np
import uvloop  # comes with uvicorn[standard]: a faster event loop leaves more of the client's core for requests


@dataclass
class Run:
    requests: int
    errors: int
    first_error: str | None
    seconds: float
    latencies: list[float]  # seconds, one per request
    client_cpu: float  # CPU seconds the client spent per wall second: near 1.0 means the client was the limit

    def summary(self, records_per_request: int = 1) -> dict:
        p50, p90, p99 = np.percentile(self.latencies, [50, 90, 99]) * 1e3 if self.latencies else (float("nan"),) * 3
        return {
            "requests": self.requests,
            "errors": self.errors,
            "first_error": self.first_error,
            "seconds": round(self.seconds, 3),
            "requests_per_s": round(self.requests / self.seconds, 1),
            "records_per_s": round(records_per_request * self.requests / self.seconds, 1),
            "p50_ms": round(float(p50), 3),
            "p90_ms": round(float(p90), 3),
            "p99_ms": round(float(p99), 3),
            "client_cpu": round(self.client_cpu, 2),
        }


async def _load(url: str, path: str, bodies: list[bytes], headers: dict, connections: int, requests: int,
                seconds: float, warmup: int) -> Run:  # fmt: skip
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    headers = {"content-type": "application/json", **headers}
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=300) as client:
        # Warm-up: opens every connection and lets the server fill its caches and thread pool.
        for start in range(0, warmup, connections):
            await asyncio.gather(*(client.post(path, content=bodies[i % len(bodies)]) for i in range(start, min(start + connections, warmup))))
        latencies: list[float] = []
        errors, first_error, sent = 0, None, 0
        deadline = time.perf_counter() + seconds

        async def connection() -> None:
            nonlocal errors, first_error, sent
            while sent < requests and time.perf_counter() < deadline:
                body = bodies[sent % len(bodies)]
                sent += 1
                began = time.perf_counter()
                response = await client.post(path, content=body)
                latencies.append(time.perf_counter() - began)
                if response.status_code != 200:
                    errors += 1
                    first_error = first_error or f"{response.status_code}: {response.text[:200]}"

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(connection() for _ in range(connections)))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return Run(len(latencies), errors, first_error, wall, latencies, cpu / wall)


def load(url: str, path: str, bodies: list[bytes], *, headers: dict | None = None, connections: int = 1,
         requests: int = 1000, seconds: float = 10.0, warmup: int = 10) -> Run:  # fmt: skip
    """Send up to `requests` POSTs of `bodies` (in turn) over `connections` connections for at most `seconds`."""
    return uvloop.run(_load(url, path, bodies, headers or {}, connections, requests, seconds, warmup))
