"""Ours against the floor in alternating pairs: the one-record throughput that decides the /predict target.

Measured one after the other, minutes apart, the two sides meet different machines: this one is shared, and its
load moves the floor by 20 % between runs. Here both servers run at once, pinned to the server core (the one not
being loaded is idle), and wrk loads one, then the other, `rounds` times, the order swapped every round; the
result is each side's median and the median of the rounds' ratios.
"""

import statistics

from bench import wrk


def measure(
    ours_url: str, token: str, floor_url: str, bodies: list[bytes], connections: int, seconds: float, rounds: int
) -> dict:
    sides = {"ours": (ours_url, token), "floor": (floor_url, None)}
    runs: dict[str, list[dict]] = {"ours": [], "floor": []}
    for side in sides:  # warm-up: connections, caches
        wrk.run(sides[side][0], "/predict", bodies, token=sides[side][1], connections=connections, seconds=1)
    for round_ in range(rounds):
        for side in sides if round_ % 2 == 0 else reversed(sides):
            url, side_token = sides[side]
            runs[side].append(wrk.run(url, "/predict", bodies, token=side_token, connections=connections, seconds=seconds))
    ratios = [o["requests_per_s"] / f["requests_per_s"] for o, f in zip(runs["ours"], runs["floor"], strict=True)]
    return {
        "connections": connections,
        "rounds": rounds,
        "runs": runs,
        "ratios": [round(r, 3) for r in ratios],
        "median_ratio": round(statistics.median(ratios), 3),
        "median_requests_per_s": {side: statistics.median(r["requests_per_s"] for r in runs[side]) for side in runs},
        "median_p99_ms": {side: statistics.median(r["p99_ms"] for r in runs[side]) for side in runs},
        "errors": sum(r["errors"] for side in runs.values() for r in side),
    }
