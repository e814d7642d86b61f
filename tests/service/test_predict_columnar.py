"""POST /predict/batch with CSV and Arrow IPC bodies: the same answers and limits as JSON, and a 4xx naming
each way such a body can be wrong."""

import json

import pyarrow as pa
import pytest

from preprocess.metadata import CategoricalFeature, NumericFeature
from service.codecs import ARROW_MEDIA_TYPE, CSV_MEDIA_TYPE
from tests.service.conftest import COLUMNAR_ENCODERS

ENCODERS = COLUMNAR_ENCODERS


@pytest.fixture(params=list(ENCODERS))
def media_type(request) -> str:
    return request.param


def _post(client, auth, media_type, body: bytes, **query):
    return client.post("/predict/batch", params=query, headers=auth | {"content-type": media_type}, content=body)


def _records(examples) -> tuple[str, list[dict]]:
    dataset, by_class = next(iter(examples.items()))
    return dataset, list(by_class.values())


def test_every_dataset_answers_as_json_does(client, auth, examples, media_type):
    for dataset, by_class in examples.items():
        records = list(by_class.values()) * 3
        expected = client.post("/predict/batch", headers=auth, json={"dataset": dataset, "records": records})
        assert expected.status_code == 200, expected.text
        body = ENCODERS[media_type](pa.Table.from_pylist(records))
        response = _post(client, auth, media_type, body, dataset=dataset)
        assert response.status_code == 200, response.text
        assert response.json() == expected.json()


def test_answers_come_as_an_arrow_stream_when_accepted(client, auth, examples, media_type):
    for dataset, by_class in examples.items():
        records = list(by_class.values()) * 3
        expected = client.post("/predict/batch", headers=auth, json={"dataset": dataset, "records": records}).json()
        bodies = [
            ("application/json", json.dumps({"dataset": dataset, "records": records}).encode(), {}),
            (media_type, ENCODERS[media_type](pa.Table.from_pylist(records)), {"dataset": dataset}),
        ]
        for content_type, body, query in bodies:
            response = client.post(
                "/predict/batch",
                params=query,
                headers=auth | {"content-type": content_type, "accept": ARROW_MEDIA_TYPE},
                content=body,
            )
            assert response.status_code == 200 and response.headers["content-type"] == ARROW_MEDIA_TYPE
            table = pa.ipc.open_stream(response.content).read_all()
            assert table.schema.metadata[b"model"].decode() == expected["model"]
            answers = table.to_pylist()
            assert [a["row"] for a in answers] == list(range(len(records)))
            for answer, want in zip(answers, expected["predictions"], strict=True):
                assert (answer["label"], answer["is_attack"]) == (want["label"], want["is_attack"])
                assert answer["confidence"] == pytest.approx(want["confidence"], rel=1e-6)
                probabilities = {k.removeprefix("p_"): v for k, v in answer.items() if k.startswith("p_")}
                assert probabilities == pytest.approx(want["probabilities"], rel=1e-6, abs=1e-12)
                if "novelty" in want:
                    assert answer["novelty_score"] == pytest.approx(want["novelty"]["score"])
                    assert answer["novelty_unknown"] == want["novelty"]["unknown"]


def test_a_named_model_answers(client, auth, index, examples, media_type):
    dataset, records = _records(examples)
    model = next(m["id"] for m in index["models"] if m["dataset"] == dataset and m["id"] != index["dataset_defaults"][dataset])
    response = _post(client, auth, media_type, ENCODERS[media_type](pa.Table.from_pylist(records)), dataset=dataset, model=model)
    assert response.status_code == 200 and response.json()["model"] == model


def test_dataset_is_required_and_checked(client, auth, examples, media_type):
    dataset, records = _records(examples)
    body = ENCODERS[media_type](pa.Table.from_pylist(records))
    for query in ({}, {"dataset": "kdd-99"}):
        response = _post(client, auth, media_type, body, **query)
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "dataset"]
    assert _post(client, auth, media_type, body, dataset=dataset, model="no-such-model").status_code == 404


def test_unknown_and_missing_columns_are_422_naming_them(client, auth, examples, media_type):
    dataset, records = _records(examples)
    first = next(iter(records[0]))
    changed = [{k: v for k, v in r.items() if k != first} | {"bogus_column": 1} for r in records]
    response = _post(client, auth, media_type, ENCODERS[media_type](pa.Table.from_pylist(changed)), dataset=dataset)
    assert response.status_code == 422
    assert {(tuple(e["loc"]), e["msg"]) for e in response.json()["detail"]} == {
        (("body", "bogus_column"), "unknown column"),
        (("body", first), "missing column"),
    }


def _feature(metadata, index, predicate) -> tuple[str, str]:
    for dataset, model_id in index["dataset_defaults"].items():
        feature = next((f for f in metadata[model_id].features if predicate(f)), None)
        if feature is not None:
            return dataset, feature.name
    pytest.skip("no served dataset has such a feature")


BAD_VALUES = {
    "negative count": (lambda f: isinstance(f, NumericFeature) and f.dtype == "integer" and f.minimum == 0, -1, "less than 0"),
    "rate above 1": (lambda f: isinstance(f, NumericFeature) and f.maximum == 1 and f.dtype == "number", 1.5, "greater than 1"),
    "fractional count": (lambda f: isinstance(f, NumericFeature) and f.dtype == "integer", 2.5, "whole number"),
    "text for a number": (lambda f: isinstance(f, NumericFeature), "many", "number"),
    "missing number": (lambda f: isinstance(f, NumericFeature), None, "a value is required"),
    "value outside a closed set": (
        lambda f: isinstance(f, CategoricalFeature) and f.closed,
        "not-a-protocol-value",
        "not one of",
    ),
}


@pytest.mark.parametrize("case", BAD_VALUES)
def test_a_bad_value_is_422_naming_its_row_and_column(client, auth, index, metadata, examples, media_type, case):
    predicate, value, message = BAD_VALUES[case]
    dataset, name = _feature(metadata, index, predicate)
    records = [dict(r) for r in examples[dataset].values()] * 2
    records = [dict(r) for r in records]
    records[2][name] = value
    # An Arrow column has one type: a number column carries the bad value as text when it is text.
    columns = {key: [r[key] for r in records] for key in records[0]}
    if any(isinstance(v, str) for v in columns[name]):
        columns[name] = [None if v is None else str(v) for v in columns[name]]
    table = pa.table(columns)
    response = _post(client, auth, media_type, ENCODERS[media_type](table), dataset=dataset)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    if media_type == ARROW_MEDIA_TYPE and isinstance(value, str) and case == "text for a number":
        # Arrow columns are typed: a text column where numbers belong is refused as a whole.
        assert error["loc"] == ["body", name] and "numbers are expected" in error["msg"]
        return
    assert error["loc"] == ["body", "records", 2, name]
    assert f"row 2, column '{name}'" in error["msg"] and message in error["msg"]
    if isinstance(value, str):
        assert value not in response.text  # the value is not echoed back


def test_row_limit_is_the_batch_limit(client, auth, examples, media_type):
    dataset, records = _records(examples)
    many = (records * 1001)[:1001]
    response = _post(client, auth, media_type, ENCODERS[media_type](pa.Table.from_pylist(many)), dataset=dataset)
    assert response.status_code == 422 and "at most 1000" in response.json()["detail"][0]["msg"]
    assert (
        _post(client, auth, media_type, ENCODERS[media_type](pa.Table.from_pylist(many[:1000])), dataset=dataset).status_code
        == 200
    )
    empty = pa.Table.from_pylist(records).slice(0, 0)
    assert _post(client, auth, media_type, ENCODERS[media_type](empty), dataset=dataset).status_code == 422


def test_malformed_bodies_are_422_saying_so(client, auth, examples):
    dataset, records = _records(examples)
    csv = ENCODERS[CSV_MEDIA_TYPE](pa.Table.from_pylist(records))
    ragged = csv + b"1,2,3\n"
    response = _post(client, auth, CSV_MEDIA_TYPE, ragged, dataset=dataset)
    assert response.status_code == 422 and response.json()["detail"][0]["msg"].startswith("malformed CSV")
    for garbage in (b"", b"not an arrow stream", ENCODERS[ARROW_MEDIA_TYPE](pa.Table.from_pylist(records))[:-40]):
        response = _post(client, auth, ARROW_MEDIA_TYPE, garbage, dataset=dataset)
        assert response.status_code == 422 and response.json()["detail"][0]["msg"].startswith("malformed Arrow"), response.text


def test_other_content_types_are_415(client, auth, examples):
    dataset, _ = _records(examples)
    response = _post(client, auth, "application/xml", b"<records/>", dataset=dataset)
    assert response.status_code == 415 and "text/csv" in response.json()["detail"]


def test_oversized_columnar_body_is_413(client, auth, examples):
    dataset, _ = _records(examples)
    response = _post(client, auth, CSV_MEDIA_TYPE, b"a\n" + b"1\n" * (2 * 1024 * 1024 + 1), dataset=dataset)
    assert response.status_code == 413


def test_columnar_bodies_need_a_token(client, examples):
    dataset, records = _records(examples)
    body = ENCODERS[CSV_MEDIA_TYPE](pa.Table.from_pylist(records))
    assert _post(client, {}, CSV_MEDIA_TYPE, body, dataset=dataset).status_code == 401


def test_openapi_documents_the_three_batch_formats(client):
    schema = client.get("/openapi.json").json()
    content = schema["paths"]["/predict/batch"]["post"]["requestBody"]["content"]
    assert set(content) == {"application/json", CSV_MEDIA_TYPE, ARROW_MEDIA_TYPE}
    for ref in content["application/json"]["schema"]["oneOf"]:
        name = ref["$ref"].rsplit("/", 1)[1]
        assert schema["components"]["schemas"][name]["properties"]["records"]["maxItems"] == 1000
    assert "row" in content[CSV_MEDIA_TYPE]["description"]
    parameters = {p["name"] for p in schema["paths"]["/predict/batch"]["post"]["parameters"]}
    assert parameters == {"dataset", "model"}
