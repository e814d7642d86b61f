"""Load from wrk (Debian's `wrk`, .ci/bench-tools.sh), pinned to the client core: a C load generator
leaves the server, not the client, as the limit, which an async Python client cannot at a few
thousand requests/s. A Lua script posts the prepared bodies in turn and prints the run's counts
and latency percentiles as one JSON line."""

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.processes import CLIENT_CORE, TWO_CORES

MARK = "WRK_RESULT "
# Strings go into the script as Lua long strings: `]==]` cannot occur in a header or a path here.
SCRIPT = """
wrk.method = "POST"
%(headers)s
local file = assert(io.open(%(body_file)s, "rb"))
local text = file:read("*a")
file:close()
local bodies, at = {}, 1
for _, size in ipairs({%(sizes)s}) do
  bodies[#bodies + 1] = text:sub(at, at + size - 1)
  at = at + size
end
local i = 0
request = function()
  i = i + 1
  return wrk.format(nil, %(path)s, nil, bodies[(i %% #bodies) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('%(mark)s{"requests": %%d, "duration_us": %%d, "bytes": %%d, "socket_errors": %%d, ' ..
    '"status_errors": %%d, "mean_us": %%d, "p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "max_us": %%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect + e.read + e.write + e.timeout, e.status,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def available() -> bool:
    return shutil.which("wrk") is not None


def _lua_string(text: str) -> str:
    return f"[==[{text}]==]"


def run(
    url: str,
    path: str,
    bodies: list[bytes],
    *,
    token: str | None = None,
    connections: int = 8,
    seconds: float = 5.0,
    headers: dict[str, str] | None = None,
) -> dict:
    """One wrk run (one thread, `connections` keep-alive connections, `seconds` long): requests/s, latency in ms,
    and errors (socket errors, and answers of status 400 or more as wrk counts them). The bodies (any bytes: JSON,
    CSV, Arrow) are read by the script from one file; `headers` add to or replace the JSON content type."""
    headers = {"content-type": "application/json"} | {k.lower(): v for k, v in (headers or {}).items()}
    if token:
        headers["authorization"] = f"Bearer {token}"
    with tempfile.NamedTemporaryFile("wb", suffix=".bodies", delete=False) as body_file:
        body_file.write(b"".join(bodies))
    script = SCRIPT % {
        "headers": "\n".join(f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items()),
        "body_file": _lua_string(body_file.name),
        "sizes": ", ".join(str(len(b)) for b in bodies),
        "path": _lua_string(path),
        "mark": MARK,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    pin = ["taskset", "-c", str(CLIENT_CORE)] if TWO_CORES else []
    command = [*pin, "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", f.name, url]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    finally:
        for used in (f.name, body_file.name):
            Path(used).unlink()
    line = next((line for line in done.stdout.splitlines() if line.startswith(MARK)), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()[-300:] or done.stdout[-300:]}")
    raw = json.loads(line[len(MARK) :])
    seconds_run = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "errors": raw["socket_errors"] + raw["status_errors"],
        "seconds": round(seconds_run, 3),
        "requests_per_s": round(raw["requests"] / seconds_run, 1),
        "mean_ms": raw["mean_us"] / 1e3,
        "p50_ms": raw["p50_us"] / 1e3,
        "p90_ms": raw["p90_us"] / 1e3,
        "p99_ms": raw["p99_us"] / 1e3,
        "max_ms": raw["max_us"] / 1e3,
        "connections": connections,
    }
