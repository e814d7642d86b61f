"""The checks the service applies to a record (types, bounds, closed vocabularies), applied to whole Arrow columns.

A row that fails one is rejected with its row number, column and reason; the other rows go on to the model with the
values the service would have given it, so the scores are the service's.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from preprocess.metadata import CategoricalFeature, ModelMetadata
from service.schemas.records import INT64_MAX, OPEN_CATEGORY_MAX_LENGTH  # the service's bounds, so rejects are its 422s

_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(?i:inf|infinity|nan)$"


@dataclass(frozen=True)
class ColumnRule:
    name: str
    kind: Literal["integer", "number", "categorical"]
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None  # a closed vocabulary; None: any text up to OPEN_CATEGORY_MAX_LENGTH


def column_rules(meta: ModelMetadata, siblings: Iterable[ModelMetadata] = ()) -> list[ColumnRule]:
    """A model's input checks. A closed category accepts what any model of the dataset saw in training (the service
    accepts one record type per dataset); a model that did not see a value encodes it as unseen."""
    rules = []
    vocabularies = [meta, *siblings]
    for feature in meta.features:
        if isinstance(feature, CategoricalFeature):
            choices = None
            if feature.closed:
                seen = {v for m in vocabularies for f in m.features if f.name == feature.name for v in f.vocabulary}
                choices = tuple(sorted(seen))
            rules.append(ColumnRule(feature.name, "categorical", choices=choices))
        else:
            maximum = feature.maximum if feature.maximum is not None or feature.dtype == "number" else INT64_MAX
            rules.append(ColumnRule(feature.name, feature.dtype, minimum=feature.minimum, maximum=maximum))
    return rules


@dataclass
class Validated:
    columns: dict[str, np.ndarray]  # feature -> values of the good rows (float64, or str objects for categories)
    good: np.ndarray  # (n,) bool
    problems: list[tuple[int, str, str, str | None]]  # (index in the chunk, column, reason, raw value)


def validate(table: pa.Table, rules: list[ColumnRule]) -> Validated:
    n_rows = table.num_rows
    columns = {rule.name: _column(table, rule.name) for rule in rules}
    numeric = [rule for rule in rules if rule.kind != "categorical"]
    # All numeric columns are converted, then checked at once as one matrix: a missing or unparsable value is NaN
    # there, so one pass finds every row that needs a closer look, column by column.
    matrix = np.empty((len(numeric), n_rows))
    for i, rule in enumerate(numeric):
        matrix[i] = _to_float(columns[rule.name])
    low = np.array([-np.inf if r.minimum is None else r.minimum for r in numeric])[:, None]
    high = np.array([np.inf if r.maximum is None else r.maximum for r in numeric])[:, None]
    integer = np.array([r.kind == "integer" for r in numeric])[:, None]
    with np.errstate(invalid="ignore"):
        flagged = ~np.isfinite(matrix) | (matrix < low) | (matrix > high) | (integer & (matrix != np.floor(matrix)))
    suspects = [rule for rule, any_flagged in zip(numeric, flagged.any(axis=1), strict=True) if any_flagged]
    checks = [(rule, _numeric_reasons(columns[rule.name], matrix[numeric.index(rule)], rule)) for rule in suspects]
    checks += [(rule, _categorical(columns[rule.name], rule)) for rule in rules if rule.kind == "categorical"]
    converted = {rule.name: matrix[i] for i, rule in enumerate(numeric)}
    bad = np.zeros(n_rows, dtype=bool)
    problems: list[tuple[int, str, str, str | None]] = []
    for rule, (values, reasons) in checks:
        if values is not None:
            converted[rule.name] = values
        for reason, mask in reasons:
            indexes = np.flatnonzero(mask)
            if len(indexes):
                bad[indexes] = True
                raw = columns[rule.name].take(pa.array(indexes)).cast(pa.string()).to_pylist()
                problems.extend(zip(indexes.tolist(), [rule.name] * len(indexes), [reason] * len(indexes), raw, strict=True))
    order = {rule.name: i for i, rule in enumerate(rules)}
    problems.sort(key=lambda p: (p[0], order[p[1]]))
    good = ~bad
    if bad.any():
        converted = {name: values[good] for name, values in converted.items()}
    return Validated({rule.name: converted[rule.name] for rule in rules}, good, problems)


def _column(table: pa.Table, name: str) -> pa.Array:
    column = table.column(name)
    return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)


def _missing(column: pa.Array) -> np.ndarray:
    if not column.null_count:  # the common case, without building a mask
        return np.zeros(len(column), dtype=bool)
    return column.is_null().to_numpy(zero_copy_only=False)


def _to_float(column: pa.Array) -> np.ndarray:
    """Float64 values; NaN where a value is missing or is no number."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        try:
            numbers = pc.cast(column, pa.float64())
        except pa.ArrowInvalid:  # some value is no number: convert the others
            numbers = pc.cast(pc.if_else(_parsable(column), column, pa.scalar(None, column.type)), pa.float64())
    else:
        numbers = pc.cast(column, pa.float64())
    return numbers.to_numpy(zero_copy_only=False)


def _parsable(column: pa.Array) -> pa.Array:
    return pc.fill_null(pc.match_substring_regex(column, _NUMBER), True)


def _numeric_reasons(column: pa.Array, values: np.ndarray, rule: ColumnRule) -> tuple[None, list[tuple[str, np.ndarray]]]:
    """Why each flagged value of a numeric column is refused (converted values are left as they are)."""
    missing = _missing(column)
    unparsed = np.zeros(len(column), dtype=bool)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        unparsed = ~_parsable(column).to_numpy(zero_copy_only=False)
    present = ~missing & ~unparsed
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(values)
        reasons = [
            ("missing value", missing),
            ("not a number", unparsed),
            ("not a finite number", present & ~finite),
        ]
        checked = present & finite
        if rule.kind == "integer":
            reasons.append(("not an integer", checked & (values != np.floor(values))))
        if rule.minimum is not None:
            reasons.append((f"below the minimum {_bound(rule.minimum)}", checked & (values < rule.minimum)))
        if rule.maximum is not None:
            reasons.append((f"above the maximum {_bound(rule.maximum)}", checked & (values > rule.maximum)))
    return None, reasons


def _categorical(column: pa.Array, rule: ColumnRule) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    text = column.cast(pa.string())
    missing = _missing(text)
    if rule.choices is not None:
        known = pc.is_in(text, value_set=pa.array(rule.choices, pa.string())).to_numpy(zero_copy_only=False)
        invalid = ("not one of the values seen in training", ~missing & ~known)
    else:
        too_long = pc.fill_null(pc.greater(pc.utf8_length(text), OPEN_CATEGORY_MAX_LENGTH), False)
        invalid = (f"longer than {OPEN_CATEGORY_MAX_LENGTH} characters", too_long.to_numpy(zero_copy_only=False))
    return text.to_numpy(zero_copy_only=False), [("missing value", missing), invalid]


def _bound(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
