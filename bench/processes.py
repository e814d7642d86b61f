"""Servers run in their own process for benchmarks and tests: started on a loopback port, waited for
until a path answers 200, logged to a file and stopped however the caller's block ends."""

import argparse
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

# The load generator takes one core and the server the other, so neither steals the other's time.
CLIENT_CORE, SERVER_CORE = 0, 1
TWO_CORES = {CLIENT_CORE, SERVER_CORE} <= os.sched_getaffinity(0)
STOP_TIMEOUT_S = 30


def model_server_args(description: str, model_file: str, default_port: int) -> argparse.Namespace:
    """The command line of each benchmark model server: the model folder to serve, and the loopback port."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("model_dir", type=Path, help=f"a model folder holding {model_file} and metadata.json")
    parser.add_argument("--port", type=int, default=default_port)
    return parser.parse_args()


def pin(pid: int, core: int) -> None:
    """Pin a process (0: this one) to one core, where the machine has both cores; else leave it be."""
    if TWO_CORES:
        os.sched_setaffinity(pid, {core})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def without_nids_settings() -> dict[str, str]:
    """This process's environment less the NIDS_* settings, so a server sees only the settings it is given."""
    return {name: value for name, value in os.environ.items() if not name.startswith("NIDS_")}


def _status_mb(pid: int, key: str) -> float:
    """A memory figure from /proc/PID/status: VmHWM is the peak resident set, VmRSS the current one."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"/proc/{pid}/status has no {key}")


class ServerNotReady(RuntimeError):
    """The server exited, or did not answer its ready path in time; the message ends with its log's end."""


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    log: Path

    def peak_rss_mb(self) -> float:
        return _status_mb(self.process.pid, "VmHWM")

    def rss_mb(self) -> float:
        return _status_mb(self.process.pid, "VmRSS")

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


@contextmanager
def serve(
    command: list[str],
    port: int,
    log: Path,
    ready_path: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 180,
    core: int | None = None,
) -> Iterator[Server]:
    """Run `command`, which listens on 127.0.0.1:`port` (see `free_port`), until the block ends.

    Its environment is this one less the NIDS_* settings, plus `env`; its output goes to `log`. Yields once
    `ready_path` answers 200, and raises ServerNotReady if it exits or is not ready within
    `timeout` seconds. `core` pins it to one core (before it starts its threads, which inherit the mask).
    It runs in a process group of its own, so stopping it (SIGTERM, then SIGKILL after STOP_TIMEOUT_S)
    stops the worker processes it started too."""
    with open(log, "wb") as out:
        environment = without_nids_settings() | (env or {})
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=environment, cwd=cwd, start_new_session=True
        )
    if core is not None:
        pin(process.pid, core)
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        _wait_ready(server, ready_path, timeout)
        yield server
    finally:
        _stop(process)


def _wait_ready(server: Server, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerNotReady(
                f"{server.log.name}: exited with {server.process.returncode} before it was ready:\n{server.log_tail()}"
            )
        try:
            if httpx.get(server.url + path, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise ServerNotReady(f"{server.log.name}: not ready at {server.url}{path} after {timeout:.0f} s:\n{server.log_tail()}")


def _stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)  # the group: workers left behind by a server that died go too
    except ProcessLookupError:
        return
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
