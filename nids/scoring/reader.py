"""Reading CSV (plain or compressed, with or without a header) and Parquet files of any size, a chunk at a time.

Every value a feature or identifier column holds is read as text (Parquet: as stored), so one bad value is one
reject, found by the vectorised checks in `validate`, instead of a parse error that stops the whole file.
"""

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

PARQUET_SUFFIXES = (".parquet", ".pq")


class InputError(ValueError):
    """A file that cannot be scored at all: unreadable, or without the columns the model needs."""


@dataclass
class Chunk:
    table: pa.Table  # the columns that were asked for
    rows: np.ndarray  # (n,) int64: each row's 1-based data row number in the input


@dataclass
class MalformedRow:
    """A CSV line with the wrong number of fields: it cannot be split into columns, so it is rejected whole."""

    row: int
    reason: str
    text: str


@dataclass
class InputFile:
    path: Path
    columns: list[str]  # every column of the file, in file order
    has_header: bool
    total_rows: int | None = None  # known up front for Parquet only
    malformed: list[MalformedRow] = field(default_factory=list)  # filled in while the chunks are read

    @property
    def is_parquet(self) -> bool:
        return is_parquet(self.path)


def is_parquet(path: Path) -> bool:
    return path.suffix.lower() in PARQUET_SUFFIXES


def open_input(path: Path, headerless_columns: Sequence[str] | None) -> InputFile:
    """The file's columns. A CSV file has a header unless `headerless_columns` names its columns (a prefix of them
    is used when the file has fewer fields, e.g. NSL-KDD rows without their label and difficulty)."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if is_parquet(path):
        try:
            metadata = pq.ParquetFile(path).metadata
        except (OSError, pa.ArrowException) as exc:
            raise InputError(f"{path}: not a readable Parquet file: {exc}") from None
        return InputFile(path, metadata.schema.names, has_header=True, total_rows=metadata.num_rows)
    first = _first_line(path)
    fields = next(csv.reader([first]), [])
    if headerless_columns is None:
        return InputFile(path, [name.strip() for name in fields], has_header=True)
    if len(fields) > len(headerless_columns):
        raise InputError(f"{path}: {len(fields)} fields per line, but the dataset has {len(headerless_columns)} columns")
    return InputFile(path, list(headerless_columns[: len(fields)]), has_header=False)


def _first_line(path: Path) -> str:
    try:
        with pa.input_stream(str(path), compression="detect") as stream:
            head = stream.read(1 << 20)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    try:
        line = io.TextIOWrapper(io.BytesIO(head), encoding="utf-8", newline="").readline()
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a UTF-8 text (CSV) file") from None
    if not line.strip():
        raise InputError(f"{path}: empty file")
    return line.rstrip("\r\n")


def read_chunks(source: InputFile, columns: Sequence[str], chunk_rows: int) -> Iterator[Chunk]:
    """The given columns, `chunk_rows` rows at a time, with their row numbers."""
    if source.is_parquet:
        yield from _parquet_chunks(source, columns, chunk_rows)
    else:
        yield from _csv_chunks(source, columns, chunk_rows)


def _parquet_chunks(source: InputFile, columns: Sequence[str], chunk_rows: int) -> Iterator[Chunk]:
    start = 1
    try:
        for batch in pq.ParquetFile(source.path).iter_batches(batch_size=chunk_rows, columns=list(columns)):
            yield Chunk(pa.Table.from_batches([batch]), np.arange(start, start + batch.num_rows, dtype=np.int64))
            start += batch.num_rows
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{source.path}: cannot read past row {start - 1}: {exc}") from None


def _csv_chunks(source: InputFile, columns: Sequence[str], chunk_rows: int) -> Iterator[Chunk]:
    header_lines = 1 if source.has_header else 0
    skipped: list[int] = []  # physical line numbers of malformed lines, in file order

    def on_malformed(row: pa_csv.InvalidRow) -> str:
        line = row.number  # physical, 1-based: known because the file is parsed serially
        skipped.append(line)
        source.malformed.append(MalformedRow(line - header_lines, _reason(row), row.text[:1000]))
        return "skip"

    try:
        reader = pa_csv.open_csv(
            str(source.path),
            read_options=pa_csv.ReadOptions(
                use_threads=False,  # serial parsing is what makes line numbers of malformed rows known
                block_size=_block_size(source.path, chunk_rows),
                column_names=None if source.has_header else source.columns,
            ),
            parse_options=parse_options(on_malformed),
            convert_options=convert_options(columns),
        )
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{source.path}: cannot read as CSV: {exc}") from None
    next_line = header_lines + 1
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    try:
        for batch in reader:
            pending.append(batch)
            pending_rows += batch.num_rows
            while pending_rows >= chunk_rows:
                table = pa.Table.from_batches(pending)
                head, rest = table.slice(0, chunk_rows), table.slice(chunk_rows)
                lines, next_line = _line_numbers(next_line, head.num_rows, skipped)
                yield Chunk(head, lines - header_lines)
                pending, pending_rows = rest.to_batches(), rest.num_rows
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{source.path}: cannot read past line {next_line - 1}: {str(exc).splitlines()[0]}") from None
    if pending_rows:
        lines, next_line = _line_numbers(next_line, pending_rows, skipped)
        yield Chunk(pa.Table.from_batches(pending), lines - header_lines)


def parse_options(on_malformed: Callable[[pa_csv.InvalidRow], str]) -> pa_csv.ParseOptions:
    # Empty lines are kept (as malformed rows) so they neither vanish nor shift the numbers of the rows after them.
    return pa_csv.ParseOptions(invalid_row_handler=on_malformed, ignore_empty_lines=False)


def convert_options(columns: Sequence[str]) -> pa_csv.ConvertOptions:
    """Only the wanted columns, all as text (an empty field is a missing value): checking them is `validate`'s job."""
    return pa_csv.ConvertOptions(
        include_columns=list(columns),
        column_types=dict.fromkeys(columns, pa.string()),
        strings_can_be_null=True,
        null_values=[""],
    )


def parse_lines(
    lines: Sequence[str], rows: np.ndarray, names: Sequence[str], columns: Sequence[str]
) -> tuple[Chunk, list[MalformedRow]]:
    """CSV lines without a header (each with its row number), parsed exactly as `read_chunks` parses a file."""
    malformed: list[MalformedRow] = []

    def on_malformed(row: pa_csv.InvalidRow) -> str:
        malformed.append(MalformedRow(int(rows[row.number - 1]), _reason(row), row.text[:1000]))
        return "skip"

    data = "".join(line + "\n" for line in lines).encode()
    table = pa_csv.read_csv(
        pa.py_buffer(data),
        read_options=pa_csv.ReadOptions(use_threads=False, column_names=list(names)),
        parse_options=parse_options(on_malformed),
        convert_options=convert_options(columns),
    )
    bad = {m.row for m in malformed}
    return Chunk(table, np.array([r for r in rows.tolist() if r not in bad], dtype=np.int64)), malformed


def _reason(row: pa_csv.InvalidRow) -> str:
    return f"{row.actual_columns} fields, expected {row.expected_columns}"


def _line_numbers(start: int, n: int, skipped: list[int]) -> tuple[np.ndarray, int]:
    """The physical lines of the next `n` parsed rows from line `start` on: consecutive except for skipped ones."""
    ahead = [line for line in skipped if line >= start]
    candidates = np.arange(start, start + n + len(ahead), dtype=np.int64)
    lines = candidates[~np.isin(candidates, ahead)][:n]
    return lines, int(lines[-1]) + 1 if n else start


def _block_size(path: Path, chunk_rows: int) -> int:
    """Bytes per parsed block: about a chunk's worth of rows, judged from the first line."""
    width = len(_first_line(path)) + 1
    return min(max(width * chunk_rows, 1 << 20), 1 << 28)
