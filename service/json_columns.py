"""JSON bodies of /predict and /predict/batch read by column: decoded and checked in one pass by msgspec into typed
records, then turned into the columns the preprocessor takes, instead of parsing to dicts and validating pydantic
objects one by one (most of a batch's time, and a tenth of a one-record request's).

Only a body whose every value passes is read this way. Anything else (a parse error, an unknown or missing field, a
value of another type or out of bounds, an ignored field that is not a short scalar, nesting too deep) returns None
and is judged by the record types' pydantic validation, which reports every fault as it always has. The msgspec
types are built from the column rules of CSV and Arrow bodies, which come from those record types, and are never
more lenient than them; where they are stricter (a number sent as a string, say) pydantic decides.
"""

import math
import sys
from collections.abc import Mapping
from itertools import chain
from typing import Annotated, Any, Literal

import msgspec
import numpy as np
from msgspec import Meta

from nids.alerts.ecs import ENDPOINT_COLUMNS
from service.codecs import ColumnRule
from service.registry import values_of
from service.schemas.prediction import MODEL_ID_MAX_LENGTH
from service.schemas.records import IGNORED_TEXT_MAX_LENGTH, INT64_MAX, class_name

_FINITE = sys.float_info.max  # bounds every number, so an overflowing one (1e400) is refused rather than read as inf
_INT64_FLOAT_MAX = math.nextafter(float(INT64_MAX + 1), 0.0)
_IGNORED = int | float | bool | Annotated[str, Meta(max_length=IGNORED_TEXT_MAX_LENGTH)] | None
_ModelId = Annotated[str, Meta(max_length=MODEL_ID_MAX_LENGTH)] | None
_REFUSED = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)  # RecursionError: nesting too deep


# The bodies around their records, which stay raw JSON until the dataset says how to read them.
class _Batch(msgspec.Struct, forbid_unknown_fields=True):
    dataset: str
    raw: msgspec.Raw = msgspec.field(name="records")
    model: _ModelId = None


class _Single(msgspec.Struct, forbid_unknown_fields=True):
    dataset: str
    raw: msgspec.Raw = msgspec.field(name="record")
    model: _ModelId = None


def _field_type(rule: ColumnRule) -> Any:
    if rule.kind in ("integer", "number"):
        # Integers are read as floats, as pydantic reads 6.0 as 6 (fractions are refused after decoding); their bound
        # is the largest float below 2**63, so no integer past int64 can round down into range.
        high = _INT64_FLOAT_MAX if rule.kind == "integer" else _FINITE
        low = -_FINITE if rule.minimum is None else rule.minimum
        return Annotated[float, Meta(ge=low, le=high if rule.maximum is None else min(rule.maximum, high))]
    if rule.kind == "closed":
        return Literal[rule.choices]
    return Annotated[str, Meta(max_length=rule.max_length)] if rule.max_length is not None else str


class _RecordType:
    """One dataset's record type and what is kept of it."""

    def __init__(self, dataset: str, rules: Mapping[str, ColumnRule], limit: int) -> None:
        required = [(name, _field_type(rule)) for name, rule in rules.items() if rule.kind != "ignored"]
        ignored = [(name, _IGNORED, None) for name, rule in rules.items() if rule.kind == "ignored"]
        # Records hold scalars only, so they cannot form cycles: the garbage collector need not track 10,000 of them.
        record = msgspec.defstruct(f"{class_name(dataset)}Row", [*required, *ignored], forbid_unknown_fields=True, gc=False)
        self.records = msgspec.json.Decoder(Annotated[list[record], Meta(min_length=1, max_length=limit)])
        self.record = msgspec.json.Decoder(record)
        self.kept = [name for name, _ in required] + [n for n, *_ in ignored if n in ENDPOINT_COLUMNS]  # model's, endpoints
        self.kept_values = values_of(self.kept)
        numbers = [(name, rule.kind == "integer") for name, rule in rules.items() if rule.kind in ("integer", "number")]
        self.number_names = [name for name, _ in numbers]
        self.number_values = values_of(self.number_names)
        self.whole = np.array([whole for _, whole in numbers], dtype=bool)
        self.integer_values = values_of([name for name, whole in numbers if whole])
        self.other_names = [name for name in self.kept if name not in self.number_names]  # text, and the flow endpoints
        self.other_values = values_of(self.other_names)


class JsonColumns:
    """Reads clean JSON bodies of the datasets whose column rules it is given; batches of at most `limit` records."""

    def __init__(self, rules: Mapping[str, Mapping[str, ColumnRule]], limit: int) -> None:
        self.rules = rules  # dataset -> its column rules, which the CSV and Arrow decoders take too
        self.record_types = {dataset: _RecordType(dataset, columns_rules, limit) for dataset, columns_rules in rules.items()}
        self.batch_body = msgspec.json.Decoder(_Batch)
        self.single_body = msgspec.json.Decoder(_Single)

    def batch(self, body: bytes) -> tuple[str, str | None, dict[str, Any], int] | None:
        """(dataset, model id or None, columns, rows) of a clean batch; None when pydantic is to judge it."""
        decoded = self._decode(body, self.batch_body, many=True)
        if decoded is None:
            return None
        batch, record_type, records = decoded
        # Numbers as one (rows, columns) array, filled in C from one flat stream of floats (half the time of np.array
        # on a list of tuples); each column a view of it, for the preprocessor and drift.
        values = chain.from_iterable(map(record_type.number_values, records))
        count = len(records) * len(record_type.number_names)
        numbers = np.fromiter(values, dtype=np.float64, count=count).reshape(len(records), -1)
        whole = numbers[:, record_type.whole]
        if (whole != np.floor(whole)).any():
            return None
        columns = dict(zip(record_type.number_names, numbers.T, strict=True))
        columns |= zip(record_type.other_names, zip(*map(record_type.other_values, records), strict=True), strict=True)
        return batch.dataset, batch.model, columns, len(records)

    def single(self, body: bytes) -> tuple[str, str | None, dict[str, tuple]] | None:
        """(dataset, model id or None, columns of one value) of a clean one-record body; None for pydantic to judge."""
        decoded = self._decode(body, self.single_body, many=False)
        if decoded is None:
            return None
        single, record_type, record = decoded
        if not all(map(float.is_integer, record_type.integer_values(record))):
            return None
        return single.dataset, single.model, self.record_columns(single.dataset, record)

    def _decode(self, body: bytes, envelope: msgspec.json.Decoder, many: bool) -> tuple[Any, _RecordType, Any] | None:
        """(the body, its dataset's record type, its records or record), or None when any part is refused."""
        try:
            outer = envelope.decode(body)
            record_type = self.record_types.get(outer.dataset)
            if record_type is None:
                return None
            return outer, record_type, (record_type.records if many else record_type.record).decode(outer.raw)
        except _REFUSED:
            return None

    def record_columns(self, dataset: str, record: Any) -> dict[str, tuple]:
        """The columns of one record read here or validated by pydantic: both have an attribute per field."""
        record_type = self.record_types[dataset]
        return dict(zip(record_type.kept, zip(record_type.kept_values(record)), strict=True))
