"""Write flow records to CSV or Parquet (chosen by the output file's suffix), a batch at a time."""

from collections.abc import Iterable
from itertools import islice
from pathlib import Path

import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet

from nids.errors import CommandError
from nids.flowmeter.columns import COLUMNS, FLOAT_COLUMNS, STRING_COLUMNS
from nids.flowmeter.options import output_format

BATCH_ROWS = 10_000

SCHEMA = pa.schema(
    [(name, pa.string() if name in STRING_COLUMNS else pa.float64() if name in FLOAT_COLUMNS else pa.int64()) for name in COLUMNS]
)


def write_records(records: Iterable[dict], path: Path) -> int:
    """Write every record to path; return how many. The header (and Parquet schema) is written even for no flows."""
    suffix = output_format(path)
    # Written beside the target and moved over it at the end, so a failure never leaves half a file or
    # destroys an earlier output of the same name.
    partial = path.with_name(f".{path.name}.partial")
    records = iter(records)
    count = 0
    try:
        with _writer(partial, suffix) as writer:
            while batch := list(islice(records, BATCH_ROWS)):
                writer.write_table(pa.Table.from_pylist(batch, schema=SCHEMA))
                count += len(batch)
        partial.replace(path)
    except OSError as exc:
        raise CommandError(f"{path}: cannot write: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return count


def _writer(path: Path, suffix: str):
    if suffix == ".parquet":
        return pyarrow.parquet.ParquetWriter(path, SCHEMA)
    return pyarrow.csv.CSVWriter(path, SCHEMA, write_options=pyarrow.csv.WriteOptions(quoting_style="needed"))
