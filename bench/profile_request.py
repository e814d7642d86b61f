"""Where a /predict request spends its time: the service in-process (no network), many requests with real
records, sampled by pyinstrument, each sample counted in the innermost stage on its stack.

    python -m bench.profile_request [--artifacts artifacts] [--model nsl-kdd-multiclass-cnn]

FastAPI runs sync routes and dependencies in a thread pool, which a profiler of the event loop's thread
does not see; the profiled run therefore runs them inline, and the cost of the thread hand-offs is measured
apart, as the time per request with the pool minus the time without. Also profiles one /predict/batch size.
Writes bench/results/profile_request.json and .md.
"""

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock
from urllib.parse import urlencode

import anyio.to_thread
from pyinstrument import Profiler

from bench import report
from bench.processes import SERVER_CORE, pin
from bench.records import real_records
from preprocess.metadata import load_metadata
from service.core.config import Settings
from service.main import create_app

OTHER = "framework: routing, dependencies, thread-pool calls"
MIDDLEWARE = "service middleware (ids, limits, JSON checks, headers)"
# Stage -> (path fragment, function name or "*" for any) of the frames that make it up, first match wins.
# A sample counts in the innermost stage on its stack, so what a stage calls (json, SQLAlchemy, pydantic,
# FastAPI's helpers) counts in it; only under the middleware, which wraps the whole request, does the
# framework's own code count as the framework's.
STAGES = {
    "read body, parse JSON": [("starlette/requests.py", "body"), ("starlette/requests.py", "json")],
    "validate request (msgspec, else pydantic)": [
        ("service/json_columns.py", "*"),
        ("fastapi/dependencies/utils.py", "request_body_to_args"),
        ("service/routers/predict.py", "_validate_json"),
    ],
    "auth: verify JWT": [("service/core/security.py", "verify_token")],
    "auth: DB session, user lookup": [("service/deps.py", "get_current_user"), ("service/deps.py", "get_session")],
    "rate limiting": [("service/ratelimit.py", "*")],
    MIDDLEWARE: [("service/middleware.py", "*")],
    "access log + metrics": [("structlog/", "*"), ("prometheus_client/", "*"), ("service/metrics.py", "*")],
    "preprocess (numpy)": [("preprocess/transform.py", "*"), ("service/registry.py", "columns")],
    "inference (onnxruntime)": [("onnxruntime/capi/", "run"), ("inference/model.py", "run")],
    "build the answer": [
        ("inference/model.py", "predict_encoded"),
        ("inference/model.py", "answers"),
        ("inference/answers.py", "*"),
        ("service/registry.py", "predict"),
        ("service/routers/predict.py", "predict"),
        ("service/routers/predict.py", "predict_batch"),
        ("service/routers/predict.py", "_choose_model"),
    ],
    "validate + serialize response": [
        ("fastapi/routing.py", "serialize_response"),
        ("starlette/responses.py", "*"),
        ("service/routers/predict.py", "_batch_answer"),
    ],
    OTHER: [("starlette/", "*"), ("fastapi/", "*"), ("anyio/", "*"), ("bench/profile_request.py", "run_sync")],
}


class App:
    """Calls the ASGI app directly, one request at a time, as uvicorn would after parsing HTTP."""

    def __init__(self, app) -> None:
        self.app = app
        self.token = ""

    async def post(self, path: str, body: bytes, content_type: str = "application/json") -> tuple[int, bytes]:
        headers = [(b"host", b"bench"), (b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
        if self.token:
            headers.append((b"authorization", f"Bearer {self.token}".encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        status, chunks = 0, []

        async def receive() -> dict:
            return messages.pop() if messages else {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)

    async def log_in(self) -> None:
        user = {"username": f"bench-{secrets.token_hex(5)}", "password": secrets.token_urlsafe(16)}
        status, body = await self.post("/auth/register", json.dumps(user).encode())
        if status == 201:
            status, body = await self.post("/auth/token", urlencode(user).encode(), "application/x-www-form-urlencoded")
        if status != 200:
            raise RuntimeError(f"cannot log in: {status} {body[:300]!r}")
        self.token = json.loads(body)["access_token"]

    async def run(self, path: str, bodies: list[bytes], count: int) -> list[float]:
        """Seconds per request for `count` requests cycling through `bodies`; every answer must be 200."""
        times = []
        for i in range(count):
            began = time.perf_counter()
            status, answer = await self.post(path, bodies[i % len(bodies)])
            times.append(time.perf_counter() - began)
            if status != 200:
                raise RuntimeError(f"{path} answered {status}: {answer[:300]!r}")
        return times


@contextmanager
def inline_thread_pool() -> Iterator[None]:
    """Run what FastAPI sends to its thread pool in the calling thread, so the profiler sees it."""

    async def run_sync(func, *args, **_options):
        return func(*args)

    with mock.patch.object(anyio.to_thread, "run_sync", run_sync):
        yield


def stage_of(frame, caller_stage: str) -> str:
    path = (frame.file_path or "").replace("\\", "/")
    for stage, patterns in STAGES.items():
        if stage == OTHER and caller_stage not in (OTHER, MIDDLEWARE):
            continue
        if any(fragment in path and name in ("*", frame.function) for fragment, name in patterns):
            return stage
    return caller_stage


def attribute(root) -> tuple[Counter, Counter]:
    """Seconds per stage (innermost match wins) and per function (self time) over a pyinstrument frame tree."""
    stages, functions = Counter(), Counter()
    todo = [(root, OTHER)]
    while todo:
        frame, stage = todo.pop()
        stage = stage_of(frame, stage)
        own = frame.time - sum(child.time for child in frame.children)
        stages[stage] += own
        named = frame.parent if frame.is_synthetic else frame  # pyinstrument keeps self time in "[self]" children
        functions[f"{named.function} ({named.file_path_short}:{named.line_no})"] += own
        todo += [(child, stage) for child in frame.children]
    return stages, functions


def profile(client: App, path: str, bodies: list[bytes], count: int, interval: float) -> dict:
    """Per-request microseconds: with the thread pool, without it, and by stage (profiled, without it)."""
    loop = asyncio.get_event_loop()
    loop.run_until_complete(client.run(path, bodies, max(20, count // 10)))  # warm-up
    pooled = loop.run_until_complete(client.run(path, bodies, count))
    with inline_thread_pool():
        inline = loop.run_until_complete(client.run(path, bodies, count))
        profiler = Profiler(interval=interval, async_mode="disabled")
        profiler.start()
        loop.run_until_complete(client.run(path, bodies, count))
        session = profiler.stop()
    stages, functions = attribute(session.root_frame())
    sampled, unprofiled = sum(stages.values()), statistics.median(inline)
    # The profiler slows what it watches, Python-heavy code most; its shares are applied to the unprofiled time.

    def per_request(seconds: float) -> float:
        return round(seconds / sampled * unprofiled * 1e6, 1)

    return {
        "requests": count,
        "median_us_with_thread_pool": round(statistics.median(pooled) * 1e6, 1),
        "median_us_inline": round(statistics.median(inline) * 1e6, 1),
        "requests_per_s_with_thread_pool": round(count / sum(pooled), 1),
        "thread_pool_handoffs_us": round((statistics.median(pooled) - statistics.median(inline)) * 1e6, 1),
        "samples": session.sample_count,
        "stages_us": {s: per_request(t) for s, t in sorted(stages.items(), key=lambda kv: -kv[1])},
        "stages_share": {s: round(t / sampled, 3) for s, t in sorted(stages.items(), key=lambda kv: -kv[1])},
        "top_functions_us": {f: per_request(t) for f, t in functions.most_common(15)},
    }


def markdown(results: dict) -> str:
    parts = [report.header("Where a /predict request spends its time", results["context"])]
    parts.append(
        f"Model `{results['model']}`, real records, in-process ASGI calls (no network) on one core, profiled by pyinstrument.\n"
    )
    for name, r in results["profiles"].items():
        parts.append(f"## {name}\n")
        parts.append(
            f"{r['requests']} requests: median {r['median_us_with_thread_pool']:.0f} µs with FastAPI's thread pool "
            f"({r['requests_per_s_with_thread_pool']:,.0f} requests/s on one connection), {r['median_us_inline']:.0f} µs with "
            f"sync code run inline: the thread hand-offs cost {r['thread_pool_handoffs_us']:.0f} µs. "
            f"By stage: the profile's shares ({r['samples']} samples, inline) of the unprofiled inline time:\n"
        )
        rows = [[s, us, f"{r['stages_share'][s]:.0%}"] for s, us in r["stages_us"].items()]
        parts += [report.table(["stage", "µs per request", "share"], rows), ""]
        parts += [
            report.table(["function (self time)", "µs per request"], [[f"`{f}`", us] for f, us in r["top_functions_us"].items()]),
            "",
        ]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, default=Path("artifacts"))
    parser.add_argument("--model", default="nsl-kdd-multiclass-cnn", help="a model id (folder under --artifacts)")
    parser.add_argument("--requests", type=int, default=3000, help="/predict requests per measurement")
    parser.add_argument("--batch-size", type=int, default=1000, help="records per /predict/batch request; 0 skips it")
    parser.add_argument("--batch-requests", type=int, default=30)
    parser.add_argument("--interval", type=float, default=0.0001, help="pyinstrument's sampling interval, seconds")
    parser.add_argument("--out", type=Path, default=report.RESULTS)
    args = parser.parse_args(argv)
    pin(0, SERVER_CORE)  # one core, as the server has in bench.serving
    meta = load_metadata(args.artifacts / args.model / "metadata.json")
    rows = real_records(meta.dataset, max(args.batch_size, 1000), [meta])
    singles = [json.dumps({"dataset": meta.dataset, "model": args.model, "record": r}).encode() for r in rows]
    results = {"context": report.context(), "model": args.model, "profiles": {}}
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        settings = Settings(
            artifacts_dir=args.artifacts,
            database_url=f"sqlite:///{tmp}/nids.db",
            jwt_secret=secrets.token_urlsafe(48),
            batch_limit=max(args.batch_size, 1),
            max_body_bytes=64 * 2**20,
        )
        app = create_app(settings)
        client = App(app)
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)

        async def started() -> None:
            async with app.router.lifespan_context(app):  # migrations run at start-up
                pass

        loop.run_until_complete(started())
        loop.run_until_complete(client.log_in())
        results["profiles"]["/predict, one record"] = profile(client, "/predict", singles, args.requests, args.interval)
        if args.batch_size:
            batch = json.dumps({"dataset": meta.dataset, "model": args.model, "records": rows[: args.batch_size]}).encode()
            name = f"/predict/batch, {args.batch_size} records"
            results["profiles"][name] = profile(client, "/predict/batch", [batch], args.batch_requests, args.interval * 10)
        loop.close()
    report.write("profile_request", results, markdown(results), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
