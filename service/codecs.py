"""Columnar /predict/batch bodies: CSV (a header row of column names) and Apache Arrow IPC streams.

They are decoded column by column, straight into the preprocessor's column input: no dict per record.
Each column is checked against the rule the record type sets for its field (type, bounds, closed set of
values, length), so a columnar body is accepted or refused as the same records in JSON would be, with a
422 naming the row and column at fault. Rules come from the record type, the one source of truth.
"""

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

import annotated_types
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from pydantic import BaseModel

from inference import Model, Predictions
from nids.alerts.ecs import ENDPOINT_COLUMNS
from nids.scoring.output import output_schema, scored_table

CSV_MEDIA_TYPE = "text/csv"
ARROW_MEDIA_TYPE = "application/vnd.apache.arrow.stream"
MAX_REPORTED_PROBLEMS = 100


class BodyError(Exception):
    """A columnar body that is refused: `errors` in the API's 422 format ({"loc", "msg", "type"})."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["msg"])
        self.errors = errors[:MAX_REPORTED_PROBLEMS]


def _error(loc: Sequence[Any], msg: str, kind: str) -> dict[str, Any]:
    return {"loc": ["body", *loc], "msg": msg, "type": kind}


@dataclass(frozen=True)
class ColumnRule:
    name: str
    kind: Literal["integer", "number", "closed", "open", "ignored"]
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    max_length: int | None = None


def column_rules(record: type[BaseModel]) -> dict[str, ColumnRule]:
    """The rule of each column, read from the record type's fields (see schemas/prediction.record_model)."""
    rules = {}
    for name, field in record.model_fields.items():
        bounds = {type(m): m for m in field.metadata}
        low = getattr(bounds.get(annotated_types.Ge), "ge", None)
        high = getattr(bounds.get(annotated_types.Le), "le", None)
        if not field.is_required():
            rules[name] = ColumnRule(name, "ignored")
        elif field.annotation is int:
            rules[name] = ColumnRule(name, "integer", low, high)
        elif field.annotation is float:
            rules[name] = ColumnRule(name, "number", low, high)
        elif get_origin(field.annotation) is Literal:
            rules[name] = ColumnRule(name, "closed", choices=tuple(get_args(field.annotation)))
        elif field.annotation is str:
            rules[name] = ColumnRule(name, "open", max_length=getattr(bounds.get(annotated_types.MaxLen), "max_length", None))
        else:
            raise TypeError(f"record field {name!r} has a type columnar bodies do not handle: {field.annotation}")
    return rules


def decode_csv(body: bytes, rules: dict[str, ColumnRule], limit: int) -> tuple[dict[str, Any], int]:
    """(columns, rows) of a CSV body whose first line names the columns."""
    arrow_types = {name: _CSV_TYPES[rule.kind] for name, rule in rules.items()}
    try:
        table = _read_csv(body, arrow_types)
    except pa.ArrowInvalid as exc:
        if "conversion error" not in str(exc):
            raise BodyError([_error([], f"malformed CSV: {_first_line(exc)}", "csv_invalid")]) from None
        # Which row holds the value pyarrow would not convert: found on this error path only, reading text.
        raise BodyError([_locate_bad_value(_read_csv(body, dict.fromkeys(rules, pa.string())), rules)]) from None
    return _columns(table, rules, limit)


def decode_arrow(body: bytes, rules: dict[str, ColumnRule], limit: int) -> tuple[dict[str, Any], int]:
    """(columns, rows) of an Arrow IPC stream: one record batch or more, one field per column."""
    try:
        with pa.ipc.open_stream(body) as reader:
            table = reader.read_all()
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        raise BodyError([_error([], f"malformed Arrow IPC stream: {_first_line(exc)}", "arrow_invalid")]) from None
    return _columns(table, rules, limit)


def _read_csv(body: bytes, column_types: dict[str, pa.DataType]) -> pa.Table:
    return pa_csv.read_csv(
        io.BytesIO(body),
        read_options=pa_csv.ReadOptions(use_threads=False),  # one request, one core: as the service's onnxruntime
        convert_options=pa_csv.ConvertOptions(
            column_types=column_types, strings_can_be_null=False, quoted_strings_can_be_null=False
        ),
    )


_FLOAT64 = pa.float64()
# Integers are read as floats, as JSON's numbers are: "6.0" is the whole number 6 (fractions are refused later).
_CSV_TYPES = {"integer": _FLOAT64, "number": _FLOAT64, "closed": pa.string(), "open": pa.string(), "ignored": pa.string()}


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__


def _columns(table: pa.Table, rules: dict[str, ColumnRule], limit: int) -> tuple[dict[str, Any], int]:
    names = table.column_names
    problems = [_error([name], "unknown column", "extra_forbidden") for name in names if name not in rules]
    problems += [
        _error([name], "duplicate column", "duplicate_column") for name in sorted({n for n in names if names.count(n) > 1})
    ]
    problems += [
        _error([r.name], "missing column", "missing") for r in rules.values() if r.kind != "ignored" and r.name not in names
    ]
    if problems:
        raise BodyError(problems)
    if table.num_rows == 0:
        raise BodyError([_error(["records"], "no rows: at least 1 is needed", "too_short")])
    if table.num_rows > limit:
        raise BodyError([_error(["records"], f"{table.num_rows} rows; at most {limit} are accepted", "too_long")])
    by_name = dict(zip(names, table.columns, strict=True))  # looked up once: pyarrow finds a name by a scan
    columns = _passing_floats(by_name, [rules[n] for n in names if rules[n].kind in ("integer", "number")])
    for name, column in by_name.items():
        rule = rules[name]
        if name in columns:
            continue
        if rule.kind != "ignored":
            columns[name] = check_column(column.combine_chunks(), rule)
        elif name in ENDPOINT_COLUMNS:  # not the model's, but the alerts' source and destination
            columns[name] = column.to_pylist()
    return columns, table.num_rows


def _passing_floats(by_name: dict[str, pa.ChunkedArray], rules: list[ColumnRule]) -> dict[str, np.ndarray]:
    """The float64 columns of these number rules whose every value passes, checked together: one pass over a 2-D
    array instead of five per column (all of a CSV body's numbers are read as float64). A column with a fault, or of
    another type, is left to `check_column`, which names the first row at fault."""
    rules = [r for r in rules if by_name[r.name].type == _FLOAT64 and by_name[r.name].null_count == 0]
    if not rules:
        return {}
    values = np.array([by_name[r.name].to_numpy() for r in rules])  # (columns, rows)
    low = np.array([-np.inf if r.minimum is None else r.minimum for r in rules])[:, None]
    high = np.array([np.inf if r.maximum is None else r.maximum for r in rules])[:, None]
    whole = np.array([r.kind == "integer" for r in rules])[:, None]
    passes = np.isfinite(values) & (values >= low) & (values <= high) & (~whole | (values == np.floor(values)))
    return {r.name: column for r, column, ok in zip(rules, values, passes.all(axis=1), strict=True) if ok}


def check_column(column: pa.Array, rule: ColumnRule) -> Any:
    """The column as the preprocessor takes it (numbers: a numpy array; categories: a list of str), once
    every value passes the rule; else a BodyError naming the first row at fault."""
    if column.null_count:
        _refuse(rule, int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0]), "a value is required")
    if rule.kind in ("integer", "number"):
        return _check_numbers(column, rule)
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        raise BodyError([_error([rule.name], f"column of type {column.type}: text is expected", "string_type")])
    if rule.kind == "closed":
        allowed = pc.is_in(column, value_set=pa.array(rule.choices)).to_numpy(zero_copy_only=False)
        if not allowed.all():
            _refuse(rule, int(np.flatnonzero(~allowed)[0]), f"not one of the {len(rule.choices)} values seen in training")
    elif rule.max_length is not None:
        too_long = pc.utf8_length(column).to_numpy(zero_copy_only=False) > rule.max_length
        if too_long.any():
            _refuse(rule, int(np.flatnonzero(too_long)[0]), f"longer than {rule.max_length} characters")
    return column.to_pylist()


def _check_numbers(column: pa.Array, rule: ColumnRule) -> np.ndarray:
    if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
        raise BodyError([_error([rule.name], f"column of type {column.type}: numbers are expected", "number_type")])
    values = column.to_numpy(zero_copy_only=False)
    if pa.types.is_floating(column.type):
        bad = ~np.isfinite(values)
        if bad.any():
            _refuse(rule, int(np.flatnonzero(bad)[0]), "not a finite number")
        if rule.kind == "integer":
            fractional = values != np.floor(values)
            if fractional.any():
                _refuse(rule, int(np.flatnonzero(fractional)[0]), "not a whole number")
    elif pa.types.is_unsigned_integer(column.type) and column.type.bit_width == 64:
        values = values.astype(np.float64)  # may exceed int64; compared as floats, as JSON's numbers are
    if rule.minimum is not None:
        below = values < rule.minimum
        if below.any():
            _refuse(rule, int(np.flatnonzero(below)[0]), f"less than {rule.minimum:g}")
    if rule.maximum is not None:
        above = values > rule.maximum
        if above.any():
            _refuse(rule, int(np.flatnonzero(above)[0]), f"greater than {rule.maximum:g}")
    return values


def _refuse(rule: ColumnRule, row: int, problem: str) -> None:
    # Rows are counted from 0, as the records of a JSON batch are; the value itself is not echoed back.
    raise BodyError([_error(["records", row, rule.name], f"row {row}, column '{rule.name}': {problem}", "value_error")])


def _locate_bad_value(text: pa.Table, rules: dict[str, ColumnRule]) -> dict[str, Any]:
    for name in text.column_names:
        rule = rules.get(name)
        if rule is None or rule.kind not in ("integer", "number"):
            continue
        for row, value in enumerate(text.column(name).to_pylist()):
            try:
                float(value)
            except (TypeError, ValueError):
                return _error(["records", row, name], f"row {row}, column '{name}': not a number", "value_error")
    return _error([], "a value could not be converted to its column's type", "csv_invalid")


def encode_arrow(model: Model, predictions: Predictions) -> bytes:
    """Batch answers as an Arrow IPC stream, with the columns `nids score` writes: `row` (counted from 0), `label`,
    `is_attack`, `confidence`, the novelty fields when the model has them, and `p_<class>` per class; the model id
    is in the schema's metadata under `model`."""
    schema = output_schema(model, []).with_metadata({"model": model.id})
    table = scored_table(schema, pa.table({}), np.arange(len(predictions)), predictions)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_table(table)
    return sink.getvalue()
