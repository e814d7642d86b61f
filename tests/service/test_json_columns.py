"""JSON bodies (one record or a batch) read by msgspec into columns: the same predictions as records validated by
pydantic, and never a value accepted that pydantic would refuse (anything unusual is left to pydantic, which then
names the fault)."""

import json

import numpy as np
import pytest
from pydantic import ValidationError

from service.codecs import column_rules
from service.json_columns import JsonColumns

LIMIT = 100
# Values that records get wrong, one at a time, in every column.
TRICKY = [None, True, False, "x", "", "a" * 300, -1, 0, 1.5, 6.0, 1e308, 2**63, 2**64, [], {}, [1], {"a": 1}]


@pytest.fixture
def datasets(app, examples):
    """dataset -> (record type, column rules, real records)."""
    registry = app.state.registry
    return {
        dataset: (registry.records[dataset], column_rules(registry.records[dataset]), list(by_class.values()))
        for dataset, by_class in examples.items()
    }


def _read(body: bytes, dataset: str, rules) -> tuple | None:
    return JsonColumns({dataset: rules}, LIMIT).batch(body)


def _body(dataset: str, records: list, **extra) -> bytes:
    return json.dumps({"dataset": dataset, "records": records} | extra).encode()


def test_clean_single_records_predict_as_pydantic_validated_ones(app, datasets):
    for dataset, (record_type, rules, records) in datasets.items():
        reader = JsonColumns({dataset: rules}, LIMIT)
        model = app.state.registry.default_for(dataset).model
        for record in records:
            name, model_id, columns = reader.single(json.dumps({"dataset": dataset, "model": "m", "record": record}).encode())
            validated = reader.record_columns(dataset, record_type.model_validate(record))
            assert (name, model_id) == (dataset, "m") and columns.keys() == validated.keys()
            assert model.predict_columns(columns, 1).answers() == model.predict_columns(validated, 1).answers()


def test_clean_batches_predict_as_the_records_do(app, datasets):
    for dataset, (_, rules, records) in datasets.items():
        read = _read(_body(dataset, records * 3, model=None), dataset, rules)
        assert read is not None
        name, model_id, columns, rows = read
        assert (name, model_id, rows) == (dataset, None, 3 * len(records))
        model = app.state.registry.default_for(dataset).model
        by_column, by_record = model.predict_columns(columns, rows), model.predict_records(records * 3)
        assert by_column.labels.tolist() == by_record.labels.tolist()
        np.testing.assert_array_equal(by_column.probabilities, by_record.probabilities)


def _read_single(record: dict, dataset: str, rules) -> tuple | None:
    """A one-record body read as /predict reads it, its columns in the shape of a batch's."""
    read = JsonColumns({dataset: rules}, LIMIT).single(json.dumps({"dataset": dataset, "record": record}).encode())
    return None if read is None else (*read, 1)


@pytest.mark.parametrize("body", ["batch", "single"])
def test_never_accepts_a_value_pydantic_refuses(datasets, body):
    accepted = refused = 0
    for dataset, (record_type, rules, records) in datasets.items():
        record = records[0]
        for column in rules:
            for value in TRICKY:
                changed = record | {column: value}
                if body == "batch":
                    read = _read(_body(dataset, [changed]), dataset, rules)
                else:
                    read = _read_single(changed, dataset, rules)
                try:
                    valid = record_type.model_validate_json(json.dumps(changed))
                except ValidationError:
                    assert read is None, (dataset, column, value)
                    refused += 1
                    continue
                if read is not None:
                    accepted += 1
                    columns = read[2]
                    if column in columns and rules[column].kind in ("integer", "number"):
                        assert float(columns[column][0]) == float(getattr(valid, column)), (column, value)
    assert accepted and refused  # both sides of the rule were exercised


@pytest.mark.parametrize(
    "change",
    [
        lambda d, r: {"dataset": d, "records": r, "extra": 1},
        lambda d, r: {"dataset": "no-such-dataset", "records": r},
        lambda d, r: {"dataset": d, "records": []},
        lambda d, r: {"dataset": d, "records": r * LIMIT},
        lambda d, r: {"dataset": d, "model": 7, "records": r},
        lambda d, r: {"dataset": d, "model": "m" * 200, "records": r},
        lambda d, r: {"dataset": d, "records": [{**r[0], "unknown": 1}]},
        lambda d, r: {"dataset": d, "records": [dict(list(r[0].items())[1:])]},
        lambda d, r: {"dataset": d, "records": [r[0], "not a record"]},
        lambda d, r: [r],
    ],
)
def test_unusual_batches_are_left_to_pydantic(datasets, change):
    for dataset, (_, rules, records) in datasets.items():
        assert _read(json.dumps(change(dataset, records)).encode(), dataset, rules) is None


@pytest.mark.parametrize(
    "change",
    [
        lambda d, r: {"dataset": d, "record": r, "extra": 1},
        lambda d, r: {"dataset": "no-such-dataset", "record": r},
        lambda d, r: {"dataset": d, "records": [r]},
        lambda d, r: {"dataset": d, "model": 7, "record": r},
        lambda d, r: {"dataset": d, "model": "m" * 200, "record": r},
        lambda d, r: {"dataset": d, "record": {**r, "unknown": 1}},
        lambda d, r: {"dataset": d, "record": dict(list(r.items())[1:])},
        lambda d, r: {"dataset": d, "record": [r]},
        lambda d, r: {"dataset": d},
    ],
)
def test_unusual_single_records_are_left_to_pydantic(datasets, change):
    for dataset, (_, rules, records) in datasets.items():
        body = json.dumps(change(dataset, records[0])).encode()
        assert JsonColumns({dataset: rules}, LIMIT).single(body) is None


def test_text_that_is_not_plain_json_is_left_to_pydantic(datasets):
    dataset, (_, rules, records) = next(iter(datasets.items()))
    body = _body(dataset, records)
    numeric = next(name for name, rule in rules.items() if rule.kind == "number")
    nan = _body(dataset, [records[0] | {numeric: 123456.5}]).replace(b"123456.5", b"NaN")
    assert _read(nan.replace(b"NaN", b"1.5"), dataset, rules) is not None
    for text in (body[:-1], b"\xff" + body, nan, b"[" * 300 + b"]" * 300):
        assert _read(text, dataset, rules) is None


def test_batches_answer_alike_either_way(client, auth, examples):
    """Through the API: a batch read by column answers as its records do one by one (validated by pydantic)."""
    for dataset, by_class in examples.items():
        records = list(by_class.values())
        clean = client.post("/predict/batch", headers=auth, json={"dataset": dataset, "records": records})
        assert clean.status_code == 200, clean.text
        single = [client.post("/predict", headers=auth, json={"dataset": dataset, "record": r}).json() for r in records]
        assert clean.json()["predictions"] == [s["prediction"] for s in single]
