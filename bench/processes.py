"""Servers under test: each in its own process, pinned to one core, stopped however the benchmark ends."""

import os
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


def pin(pid: int, core: int) -> None:
    """Pin a process (0: this one) to one core, where the machine has both cores; else leave it be."""
    if TWO_CORES:
        os.sched_setaffinity(pid, {core})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status_mb(pid: int, key: str) -> float:
    """A memory figure from /proc/PID/status: VmHWM is the peak resident set, VmRSS the current one."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"/proc/{pid}/status has no {key}")


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    log: Path

    def peak_rss_mb(self) -> float:
        return _status_mb(self.process.pid, "VmHWM")

    def rss_mb(self) -> float:
        return _status_mb(self.process.pid, "VmRSS")


@contextmanager
def serve(command: list[str], port: int, log: Path, ready_path: str, env: dict[str, str] | None = None,
          cwd: Path | None = None, timeout: float = 300) -> Iterator[Server]:  # fmt: skip
    """Start `command` (which listens on `port`), pin it to the server core, wait until `ready_path` answers 200."""
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}, cwd=cwd)
    pin(process.pid, SERVER_CORE)  # before it starts its threads, which inherit the mask
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        _wait_ready(server, ready_path, timeout)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(server: Server, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log.read_text(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError(f"server exited with {server.process.returncode} before it was ready: " + " | ".join(tail))
        try:
            if httpx.get(server.url + path, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server not ready at {server.url}{path} after {timeout:.0f}s; see {server.log}")
