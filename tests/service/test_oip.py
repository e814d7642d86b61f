"""Open Inference Protocol v2, driven by Triton's own HTTP client against the service run by uvicorn on loopback."""

import json
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from inference import load_models
from preprocess.metadata import CategoricalFeature
from tests.inference.conftest import NOVELTY_MODEL, write_novelty_artifacts

PASSWORD = "correct horse battery"
NUMPY = {"BYTES": object, "INT64": np.int64, "FP64": np.float64}


@pytest.fixture(scope="module")
def service(start_service) -> Iterator[str]:
    with start_service() as running:
        yield running.url


@pytest.fixture(scope="module")
def headers(service) -> dict[str, str]:
    credentials = {"username": "oip-client", "password": PASSWORD}
    httpx.post(f"{service}/auth/register", json=credentials)
    token = httpx.post(f"{service}/auth/token", data=credentials).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def client(service) -> Iterator[triton.InferenceServerClient]:
    client = triton.InferenceServerClient(url=service.removeprefix("http://"))
    yield client
    client.close()


def _inputs(
    meta,
    records: list[dict],
    binary: bool = False,
    skip: str | None = None,
    override: dict | None = None,
):
    """One tensor per column of the records, typed as the model's metadata says (`override`: name -> datatype)."""
    inputs = []
    for feature in meta.features:
        if feature.name == skip:
            continue
        datatype = (override or {}).get(feature.name) or _datatype(feature)
        tensor = triton.InferInput(feature.name, [len(records)], datatype)
        values = [r[feature.name] for r in records]
        tensor.set_data_from_numpy(np.array(values, dtype=NUMPY.get(datatype, np.float32)), binary_data=binary)
        inputs.append(tensor)
    return inputs


def _expect_error(status: int, message: str, call, *args, **kwargs) -> None:
    with pytest.raises(InferenceServerException) as raised:
        call(*args, **kwargs)
    assert raised.value.status() == str(status), raised.value
    assert message in raised.value.message(), raised.value.message()


def _replaced(inputs: list, name: str, shape: list[int], values: list) -> list:
    """The inputs with the INT64 tensor `name` replaced by one of this shape and these values."""
    tensor = triton.InferInput(name, shape, "INT64")
    tensor.set_data_from_numpy(np.array(values, dtype=np.int64), binary_data=False)
    return [tensor if i.name() == name else i for i in inputs]


def test_health_and_server_metadata_are_open(client):
    assert client.is_server_live() and client.is_server_ready()
    assert client.get_server_metadata()["extensions"] == ["binary_tensor_data"]


def test_model_metadata_has_one_input_per_column(client, headers, index, metadata):
    for entry in index["models"]:
        meta = metadata[entry["id"]]
        described = client.get_model_metadata(entry["id"], headers=headers)
        assert described["name"] == entry["id"] and described["platform"] == "onnxruntime_onnx"
        assert [i["name"] for i in described["inputs"]] == [f.name for f in meta.features]
        for tensor, feature in zip(described["inputs"], meta.features, strict=True):
            assert tensor["datatype"] == _datatype(feature) and tensor["shape"] == [-1]
        novelty = {"novelty_score": ("FP32", [-1]), "unknown": ("BOOL", [-1])} if meta.novelty else {}
        assert {o["name"]: (o["datatype"], o["shape"]) for o in described["outputs"]} == {
            "label": ("BYTES", [-1]),
            "is_attack": ("BOOL", [-1]),
            "confidence": ("FP32", [-1]),
            "probabilities": ("FP32", [-1, len(meta.classes)]),
        } | novelty
        assert described["classes"] == meta.classes
        assert client.is_model_ready(entry["id"], headers=headers)


def test_batch_inference_matches_predict_batch(client, service, headers, index, metadata):
    for entry in index["models"]:
        meta = metadata[entry["id"]]
        records = list(meta.examples.values())
        result = client.infer(entry["id"], _inputs(meta, records), headers=headers, request_id="batch-1")
        expected = httpx.post(
            f"{service}/predict/batch",
            headers=headers,
            json={"dataset": meta.dataset, "model": entry["id"], "records": records},
        ).json()["predictions"]
        assert result.get_response()["id"] == "batch-1" and result.get_response()["model_name"] == entry["id"]
        assert [label.decode() for label in result.as_numpy("label")] == [p["label"] for p in expected]
        assert result.as_numpy("is_attack").tolist() == [p["is_attack"] for p in expected]
        assert result.as_numpy("confidence") == pytest.approx([p["confidence"] for p in expected], abs=1e-6)
        probabilities = result.as_numpy("probabilities")
        assert probabilities.shape == (len(records), len(meta.classes)) and probabilities.dtype == np.float32
        assert probabilities == pytest.approx(
            np.array([[p["probabilities"][c] for c in meta.classes] for p in expected]),
            abs=1e-6,
        )


def test_single_record_with_json_outputs(client, headers, metadata):
    meta = metadata["nsl-kdd-multiclass-cnn"]
    outputs = [
        triton.InferRequestedOutput("label", binary_data=False),
        triton.InferRequestedOutput("confidence", binary_data=False),
    ]
    result = client.infer(
        meta.model_id,
        _inputs(meta, [meta.examples["DoS"]]),
        outputs=outputs,
        headers=headers,
    )
    answer = result.get_response()
    assert [o["name"] for o in answer["outputs"]] == [
        "label",
        "confidence",
    ] and "id" not in answer
    assert answer["outputs"][0]["data"] == ["DoS"] and result.as_numpy("label").tolist() == [
        "DoS"
    ]  # JSON BYTES come back as text
    assert result.as_numpy("probabilities") is None


def test_binary_inputs(client, headers, metadata):
    # As Triton's client sends them by default: JSON text then binary data, with no content type.
    meta = metadata["nf-bot-iot-v2-multiclass-cnn"]
    records = list(meta.examples.values())
    plain = client.infer(meta.model_id, _inputs(meta, records), headers=headers)
    for extra in ({}, {"Content-Type": "application/octet-stream"}):
        binary = client.infer(meta.model_id, _inputs(meta, records, binary=True), headers=headers | extra)
        assert binary.as_numpy("label").tolist() == plain.as_numpy("label").tolist()
        assert binary.as_numpy("probabilities") == pytest.approx(plain.as_numpy("probabilities"))


def test_the_json_part_of_a_binary_body_is_still_checked(service, headers):
    flood = json.dumps({f"member-{i}": 1 for i in range(200_000)}).encode()
    response = httpx.post(
        f"{service}/v2/models/nsl-kdd-multiclass-cnn/infer",
        content=flood + b"\xff\x00binary",
        headers=headers | {"Inference-Header-Content-Length": str(len(flood))},
    )
    assert response.status_code == 422 and response.json()["detail"][0]["type"] == "json_too_many_members"


def test_errors_are_4xx_with_the_protocols_error_body(client, headers, metadata):
    meta = metadata["nsl-kdd-multiclass-cnn"]
    records = list(meta.examples.values())[:2]
    _expect_error(
        404,
        "unknown model 'no-such-model'",
        client.infer,
        "no-such-model",
        _inputs(meta, records),
        headers=headers,
    )
    _expect_error(
        404,
        "unknown model 'no-such-model'",
        client.get_model_metadata,
        "no-such-model",
        headers=headers,
    )
    _expect_error(401, "Not authenticated", client.infer, meta.model_id, _inputs(meta, records))
    _expect_error(
        400,
        "missing input 'src_bytes'",
        client.infer,
        meta.model_id,
        _inputs(meta, records, skip="src_bytes"),
        headers=headers,
    )
    wrong_type = _inputs(meta, records, override={"src_bytes": "FP32"})
    _expect_error(
        400,
        "input 'src_bytes' has datatype FP32; expected INT64",
        client.infer,
        meta.model_id,
        wrong_type,
        headers=headers,
    )
    ragged = _replaced(_inputs(meta, records), "src_bytes", [1], [records[0]["src_bytes"]])
    _expect_error(
        400,
        "input 'src_bytes' has shape [1], but the first input has [2]",
        client.infer,
        meta.model_id,
        ragged,
        headers=headers,
    )
    matrix = _replaced(_inputs(meta, records), "duration", [2, 1], [[r["duration"]] for r in records])
    _expect_error(
        400,
        "input 'duration' has shape [2, 1]; expected [n]",
        client.infer,
        meta.model_id,
        matrix,
        headers=headers,
    )
    negative = [dict(r, src_bytes=-5) for r in records]
    _expect_error(
        400,
        "input 'src_bytes' element 0: Input should be greater than or equal to 0",
        client.infer,
        meta.model_id,
        _inputs(meta, negative),
        headers=headers,
    )
    unseen = [dict(r, protocol_type="sctp") for r in records]
    _expect_error(
        400,
        "input 'protocol_type' element 0",
        client.infer,
        meta.model_id,
        _inputs(meta, unseen),
        headers=headers,
    )
    unknown_output = [triton.InferRequestedOutput("verdict")]
    _expect_error(
        400,
        "unknown output 'verdict'",
        client.infer,
        meta.model_id,
        _inputs(meta, records),
        outputs=unknown_output,
        headers=headers,
    )


def test_malformed_requests_name_the_problem(service, headers, metadata):
    url = f"{service}/v2/models/nsl-kdd-multiclass-cnn/infer"
    for body, message in [
        (b"{not json", "not valid JSON"),
        (b'{"inputs": [{"name": "duration"}]}', "invalid request at 'inputs.0.shape'"),
        (
            b'{"inputs": [{"name": "nope", "shape": [1], "datatype": "INT64", "data": [1]}]}',
            "unknown input 'nope'",
        ),
    ]:
        response = httpx.post(url, headers=headers, content=body)
        assert response.status_code == 400 and message in response.json()["error"], response.text


def test_inference_feeds_the_drift_window(client, service, headers, metadata):
    meta = metadata["nsl-kdd-binary-cnn"]
    before = httpx.get(f"{service}/models/{meta.model_id}/drift", headers=headers).json()["seen"]
    records = list(meta.examples.values())
    client.infer(meta.model_id, _inputs(meta, records), headers=headers)
    after = httpx.get(f"{service}/models/{meta.model_id}/drift", headers=headers).json()["seen"]
    assert after == before + len(records)


ENDPOINTS = {"IPV4_SRC_ADDR": "BYTES", "L4_SRC_PORT": "INT64", "IPV4_DST_ADDR": "BYTES", "L4_DST_PORT": "INT64"}


def _endpoint_inputs(rows: int, source_port: int = 40000) -> list:
    """The flow endpoint columns of `rows` records as optional inputs."""
    values = {"IPV4_SRC_ADDR": "192.0.2.7", "L4_SRC_PORT": source_port, "IPV4_DST_ADDR": "192.0.2.9", "L4_DST_PORT": 80}
    inputs = []
    for name, value in values.items():
        datatype = ENDPOINTS[name]
        tensor = triton.InferInput(name, [rows], datatype)
        tensor.set_data_from_numpy(np.array([value] * rows, dtype=NUMPY.get(datatype, np.float32)), binary_data=False)
        inputs.append(tensor)
    return inputs


def test_flow_endpoints_are_optional_inputs_for_the_alerts(client, headers, metadata):
    described = client.get_model_metadata("nf-bot-iot-v2-multiclass-cnn", headers=headers)
    assert {t["name"]: (t["datatype"], t["shape"]) for t in described["optional_inputs"]} == {
        name: (datatype, [-1]) for name, datatype in ENDPOINTS.items()
    }
    assert client.get_model_metadata("nsl-kdd-multiclass-cnn", headers=headers)["optional_inputs"] == []
    meta = metadata["nf-bot-iot-v2-multiclass-cnn"]
    records = list(meta.examples.values())
    plain = client.infer(meta.model_id, _inputs(meta, records), headers=headers)
    with_endpoints = client.infer(meta.model_id, _inputs(meta, records) + _endpoint_inputs(len(records)), headers=headers)
    assert with_endpoints.as_numpy("label").tolist() == plain.as_numpy("label").tolist()
    assert with_endpoints.as_numpy("probabilities") == pytest.approx(plain.as_numpy("probabilities"))
    _expect_error(
        400,
        "input 'L4_SRC_PORT' element 0: Input should be less than or equal to 65535",
        client.infer,
        meta.model_id,
        _inputs(meta, records) + _endpoint_inputs(len(records), source_port=70000),
        headers=headers,
    )
    n = len(records)
    numeric_address = _inputs(meta, records) + _replaced(_endpoint_inputs(n), "IPV4_SRC_ADDR", [n], [3221225991] * n)
    _expect_error(
        400,
        "input 'IPV4_SRC_ADDR' has datatype INT64; expected BYTES",
        client.infer,
        meta.model_id,
        numeric_address,
        headers=headers,
    )


def test_a_refused_request_is_not_counted(client, service, headers, metadata):
    meta = metadata["nsl-kdd-binary-cnn"]
    before = httpx.get(f"{service}/models/{meta.model_id}/drift", headers=headers).json()["seen"]
    outputs = [triton.InferRequestedOutput("verdict")]
    _expect_error(
        400,
        "unknown output 'verdict'",
        client.infer,
        meta.model_id,
        _inputs(meta, [meta.examples["normal"]]),
        outputs=outputs,
        headers=headers,
    )
    assert httpx.get(f"{service}/models/{meta.model_id}/drift", headers=headers).json()["seen"] == before


def test_a_model_with_novelty_outputs_its_score_and_unknown(start_service, tmp_path_factory, artifacts_dir, headers):
    root = write_novelty_artifacts(tmp_path_factory.mktemp("oip-novelty"), artifacts_dir)
    model = load_models(root).get(NOVELTY_MODEL)
    records = list(model.meta.examples.values())
    expected = model.predict_records(records)
    with start_service(NIDS_ARTIFACTS_DIR=str(root)) as running:
        client = triton.InferenceServerClient(url=running.url.removeprefix("http://"))
        try:
            described = client.get_model_metadata(NOVELTY_MODEL, headers=headers)
            assert [(o["name"], o["datatype"]) for o in described["outputs"]][-2:] == [
                ("novelty_score", "FP32"),
                ("unknown", "BOOL"),
            ]
            result = client.infer(NOVELTY_MODEL, _inputs(model.meta, records), headers=headers)
        finally:
            client.close()
    assert result.as_numpy("novelty_score") == pytest.approx(expected.novelty_score.astype(np.float32))
    assert result.as_numpy("unknown").tolist() == expected.unknown.tolist()
    assert 0 < expected.unknown.sum() < len(records)


def _binary_request(meta, record: dict, raw_overrides: dict | None = None) -> tuple[bytes, bytes, list[tuple[str, str]]]:
    """(JSON header, binary tail, [(input, datatype)]) of one record in Triton's binary tensor extension."""
    tensors = [(f.name, _datatype(f)) for f in meta.features]
    raw = {
        name: len(record[name]).to_bytes(4, "little") + record[name].encode()
        if datatype == "BYTES"
        else np.array([record[name]], dtype=NUMPY[datatype]).tobytes()
        for name, datatype in tensors
    } | (raw_overrides or {})
    inputs = [{"name": n, "shape": [1], "datatype": d, "parameters": {"binary_data_size": len(raw[n])}} for n, d in tensors]
    return json.dumps({"inputs": inputs}).encode(), b"".join(raw[name] for name, _ in tensors), tensors


def _datatype(feature) -> str:
    return "BYTES" if isinstance(feature, CategoricalFeature) else {"integer": "INT64", "number": "FP64"}[feature.dtype]


def test_malformed_binary_tensors_name_the_problem(service, headers, metadata):
    """Triton's binary extension: a JSON header of Inference-Header-Content-Length bytes, then the tensors in order."""
    url = f"{service}/v2/models/nsl-kdd-multiclass-cnn/infer"
    meta = metadata["nsl-kdd-multiclass-cnn"]
    record = meta.examples["normal"]
    head, tail, tensors = _binary_request(meta, record)
    past_the_end = _binary_request(meta, record, {"protocol_type": (50).to_bytes(4, "little") + b"tcp"})
    last = tensors[-1][0]
    for length, body, message in [
        (len(head), head + tail, None),
        (len(head) + len(tail) + 1, head + tail, "must be a byte count of at most the body's"),
        (len(head), head + tail[:-1], f"input '{last}' binary_data_size 8 exceeds the binary data sent"),
        (len(head), head + tail + b"\0", "1 bytes of binary data follow the inputs"),
        (len(past_the_end[0]), past_the_end[0] + past_the_end[1], "input 'protocol_type': a BYTES element is longer than"),
    ]:
        sent = headers | {"Content-Type": "application/octet-stream", "Inference-Header-Content-Length": str(length)}
        response = httpx.post(url, headers=sent, content=body)
        if message is None:  # the well-formed request, for reference
            assert response.status_code == 200, response.text
        else:
            assert response.status_code == 400 and message in response.json()["error"], response.text
