"""Drift windows that add up across worker processes.

Each worker publishes its windows' bin counts to a file of its own in a directory the workers share (named by its
pid), and whichever worker reports adds the other live workers' files to its own live counts: every worker answers
with the same summary. A file is replaced atomically (a temporary file, then os.replace), so a reader never sees half
of one, and a file whose process is gone is skipped and deleted: a worker that died takes its window with it, as its
memory would. As with prometheus_client's own files, the directory is meant to be fresh per run (service/__main__.py
makes one unless PROMETHEUS_MULTIPROC_DIR is given): a worker overwrites its pid's file when it starts, but a leftover
file whose pid some other process has since taken would be counted.
"""

import logging
import os
import zipfile
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

SUFFIX = ".npz"


@dataclass(frozen=True)
class Summary:
    """A window's bin counts (features x bins: each record adds one to every feature's row), the records it has seen
    and the records it can hold."""

    counts: np.ndarray
    seen: int
    capacity: int

    @property
    def records(self) -> int:
        return int(self.counts[0].sum())

    @staticmethod
    def total(parts: Sequence["Summary"]) -> "Summary":
        """The sum of several workers' windows. The capacity counts the workers that have seen records (else the
        first part's), so a worker that has served nothing yet does not change what every worker reports."""
        busy = [part for part in parts if part.seen] or parts[:1]
        return Summary(
            counts=np.sum([part.counts for part in parts], axis=0),
            seen=sum(part.seen for part in parts),
            capacity=sum(part.capacity for part in busy),
        )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, as another user's process
    return True


class WorkerFiles:
    """The shared directory of the workers' window files. `pid` is this process's, unless a test stands in for
    another worker."""

    def __init__(self, directory: Path, pid: int | None = None):
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.pid = os.getpid() if pid is None else pid
        self.path = directory / f"{self.pid}{SUFFIX}"

    def publish(self, summaries: Mapping[str, Summary]) -> None:
        arrays = {}
        for model_id, summary in summaries.items():
            arrays[f"{model_id}.counts"] = summary.counts
            arrays[f"{model_id}.seen"] = np.array(summary.seen)
            arrays[f"{model_id}.capacity"] = np.array(summary.capacity)
        temporary = self.path.with_name(f"{self.path.name}.tmp")
        with temporary.open("wb") as file:
            np.savez(file, **arrays)
        os.replace(temporary, self.path)

    def withdraw(self) -> None:
        self.path.unlink(missing_ok=True)

    def others(self, model_ids: Collection[str]) -> dict[str, list[Summary]]:
        """model id -> what each other live worker last published for it."""
        found: dict[str, list[Summary]] = defaultdict(list)
        for path in self.directory.glob(f"*{SUFFIX}"):
            if not path.stem.isdigit() or int(path.stem) == self.pid:
                continue
            if not alive(int(path.stem)):
                path.unlink(missing_ok=True)
                continue
            try:
                with np.load(path) as data:
                    for model_id in model_ids:
                        if f"{model_id}.counts" in data.files:
                            found[model_id].append(
                                Summary(
                                    counts=data[f"{model_id}.counts"],
                                    seen=int(data[f"{model_id}.seen"]),
                                    capacity=int(data[f"{model_id}.capacity"]),
                                )
                            )
            except FileNotFoundError:
                continue  # its process ended and another reader deleted it
            except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
                logger.warning("skipping the unreadable drift window file %s: %s", path, exc)
        return found
