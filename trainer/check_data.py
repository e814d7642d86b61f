"""`trainer check-data`: is every file the trainer reads in the data directory, with the content it expects?

One line per file (ok, missing, or wrong checksum); for each file that is not ok, where the public dataset comes
from, how the expected file relates to it, and the exact path to put it at. Reads only the files' bytes: no
pandas, no TensorFlow, so it answers in about a second.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

from preprocess.defaults import DATA_DIR_ENV
from trainer.datasets import DATASETS, DataFile

OK, MISSING, WRONG = "ok", "missing", "wrong checksum"


@dataclass(frozen=True)
class FileCheck:
    dataset: str
    relative: str  # under the data directory
    path: Path
    expected: DataFile
    status: str  # OK, MISSING or WRONG
    found_sha256: str | None = None  # of the file found, when there is one


def sha256_of(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def check(data_dir: Path) -> list[FileCheck]:
    """Every dataset's files, in dataset order; a file shared by two datasets is checked once."""
    checks, seen = [], set()
    for name, spec in DATASETS.items():
        for relative, expected in spec.files.items():
            if relative in seen:
                continue
            seen.add(relative)
            path = data_dir / relative
            if not path.is_file():
                checks.append(FileCheck(name, relative, path, expected, MISSING))
                continue
            found = sha256_of(path)
            checks.append(FileCheck(name, relative, path, expected, OK if found == expected.sha256 else WRONG, found))
    return checks


def report(data_dir: Path, checks: list[FileCheck]) -> list[str]:
    """The lines `trainer check-data` prints: the directory, one line per file, then how to fix each problem."""
    where = "" if data_dir.is_dir() else " (does not exist)"
    lines = [f"data directory: {data_dir.resolve()}{where}"]
    width = max(len(c.status) for c in checks)
    lines += [f"{c.status:<{width}}  {c.relative}  ({c.dataset})" for c in checks]
    problems = [c for c in checks if c.status != OK]
    for c in problems:
        if c.status == WRONG:
            lines += [
                "",
                f"{c.relative} has other content than expected:",
                f"  found sha256 {c.found_sha256}, expected {c.expected.sha256}",
            ]
        else:
            lines += ["", f"{c.relative} is missing."]
            uncompressed = c.path.with_suffix("")
            if uncompressed.is_file():
                lines.append(f"  {uncompressed.name} is there: the trainer reads it compressed (gzip {uncompressed})")
        lines += [f"  get it: {c.expected.origin}", f"  put it at: {c.path.resolve()}"]
    if problems:
        lines += [
            "",
            f"{len(problems)} of {len(checks)} files need attention; --data-dir or ${DATA_DIR_ENV} picks another folder.",
        ]
    else:
        lines.append(f"all {len(checks)} files present with the expected checksums")
    return lines
