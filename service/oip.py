"""Open Inference Protocol (v2) tensors <-> the service's columns and predictions.

A model takes one input tensor per dataset column, of shape [n] for n records: BYTES for a categorical column,
INT64 or FP64 for a numeric one as its metadata types it. Values are checked by the same rules as /predict's
records (the dataset's record type), a column at a time. A flow dataset's endpoint columns (addresses as BYTES,
ports as INT64) are optional inputs: the model ignores them, but they give the alerts of attack verdicts their
source and destination. Tensors may come and go as JSON `data` or as Triton's binary tensor extension: the JSON
header, then each binary tensor's bytes in order, little-endian, a BYTES element as a 4-byte length and its bytes.
"""

import json
import struct
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from inference import Predictions
from nids.alerts.ecs import ENDPOINT_COLUMNS
from preprocess.metadata import CategoricalFeature, ModelMetadata
from service.schemas.oip import (
    InferenceRequest,
    ModelMetadataResponse,
    RequestInput,
    TensorMetadata,
)

HEADER_LENGTH = "Inference-Header-Content-Length"
PLATFORM = "onnxruntime_onnx"
NUMPY_TYPES = {"BOOL": "?", "INT64": "<i8", "FP64": "<f8", "FP32": "<f4"}
# The datatype and value rule of an endpoint column, by its ECS field (text bounded as the record type bounds it).
ENDPOINT_TYPES = {
    "ip": ("BYTES", Annotated[str, Field(max_length=256)]),
    "port": ("INT64", Annotated[int, Field(ge=0, le=65535)]),
}


class OipError(Exception):
    """An inference request the protocol answers with `{"error": message}` and this status."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def input_datatype(feature) -> str:
    return "BYTES" if isinstance(feature, CategoricalFeature) else {"integer": "INT64", "number": "FP64"}[feature.dtype]


def output_tensors(meta: ModelMetadata) -> list[TensorMetadata]:
    outputs = [
        TensorMetadata(name="label", datatype="BYTES", shape=[-1]),
        TensorMetadata(name="is_attack", datatype="BOOL", shape=[-1]),
        TensorMetadata(name="confidence", datatype="FP32", shape=[-1]),
        TensorMetadata(name="probabilities", datatype="FP32", shape=[-1, len(meta.classes)]),
    ]
    if meta.novelty is not None:
        outputs += [
            TensorMetadata(name="novelty_score", datatype="FP32", shape=[-1]),
            TensorMetadata(name="unknown", datatype="BOOL", shape=[-1]),
        ]
    return outputs


def endpoint_inputs(meta: ModelMetadata) -> dict[str, str]:
    """The optional inputs: the dataset's endpoint columns -> their datatype."""
    return {name: _endpoint_type(name)[0] for name in meta.ignored_columns if name in ENDPOINT_COLUMNS}


def _endpoint_type(column: str) -> tuple[str, Any]:
    return ENDPOINT_TYPES[ENDPOINT_COLUMNS[column][1]]


def model_metadata(meta: ModelMetadata) -> ModelMetadataResponse:
    return ModelMetadataResponse(
        name=meta.model_id,
        platform=PLATFORM,
        inputs=[TensorMetadata(name=f.name, datatype=input_datatype(f), shape=[-1]) for f in meta.features],
        optional_inputs=[TensorMetadata(name=n, datatype=d, shape=[-1]) for n, d in endpoint_inputs(meta).items()],
        outputs=output_tensors(meta),
        classes=meta.classes,
    )


def parse_request(body: bytes, header_length: str | None) -> tuple[InferenceRequest, bytes]:
    """The request's JSON part, validated, and the binary tensor data after it."""
    if header_length is None:
        head, binary = body, b""
    else:
        if not header_length.isdigit() or int(header_length) > len(body):
            raise OipError(f"{HEADER_LENGTH} must be a byte count of at most the body's {len(body)} bytes")
        head, binary = body[: int(header_length)], body[int(header_length) :]
    try:
        return InferenceRequest.model_validate(json.loads(head)), binary
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise OipError(f"the request is not valid JSON: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise OipError(f"invalid request at '{'.'.join(map(str, first['loc']))}': {first['msg']}") from None


@dataclass(frozen=True)
class ColumnRules:
    """Each column's datatype and value rules, from the dataset's record type (what /predict accepts); `optional`:
    the endpoint columns, which may be left out."""

    datatypes: dict[str, str]
    values: dict[str, TypeAdapter]
    optional: frozenset[str]

    @classmethod
    def of(cls, meta: ModelMetadata, record: type[BaseModel]) -> "ColumnRules":
        config = ConfigDict(allow_inf_nan=False)
        values = {}
        for feature in meta.features:
            field = record.model_fields[feature.name]
            item = Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
            values[feature.name] = TypeAdapter(list[item], config=config)
        endpoints = endpoint_inputs(meta)
        for name in endpoints:
            values[name] = TypeAdapter(list[_endpoint_type(name)[1]])
        return cls({f.name: input_datatype(f) for f in meta.features} | endpoints, values, frozenset(endpoints))


def read_columns(request: InferenceRequest, binary: bytes, rules: ColumnRules, max_rows: int) -> tuple[dict[str, list], int]:
    """column name -> its values, and the number of records; OipError naming the input at fault."""
    names = [tensor.name for tensor in request.inputs]
    if duplicate := next((n for n in names if names.count(n) > 1), None):
        raise OipError(f"input '{duplicate}' is given more than once")
    if unknown := [n for n in names if n not in rules.datatypes]:
        raise OipError(f"unknown input '{unknown[0]}': the model's inputs are its dataset's columns")
    required = [n for n in rules.datatypes if n not in rules.optional]
    if missing := [n for n in required if n not in names]:
        raise OipError(f"missing input '{missing[0]}' ({len(missing)} of {len(required)} inputs missing)")
    rows = None
    columns = {}
    offset = 0
    for tensor in request.inputs:
        expected = rules.datatypes[tensor.name]
        if tensor.datatype != expected:
            raise OipError(f"input '{tensor.name}' has datatype {tensor.datatype}; expected {expected}")
        if len(tensor.shape) != 1 or not 1 <= tensor.shape[0] <= max_rows:
            raise OipError(
                f"input '{tensor.name}' has shape {tensor.shape}; expected [n], one value per record, 1 <= n <= {max_rows}"
            )
        if rows is None:
            rows = tensor.shape[0]
        elif tensor.shape[0] != rows:
            raise OipError(
                f"input '{tensor.name}' has shape {tensor.shape}, but the first input has [{rows}]: "
                "all inputs take one value per record"
            )
        data, offset = _tensor_data(tensor, binary, offset)
        if len(data) != rows:
            raise OipError(f"input '{tensor.name}' has {len(data)} values for shape {tensor.shape}")
        try:
            columns[tensor.name] = rules.values[tensor.name].validate_python(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise OipError(f"input '{tensor.name}' element {first['loc'][0]}: {first['msg']}") from None
    if offset != len(binary):
        raise OipError(f"{len(binary) - offset} bytes of binary data follow the inputs that declare binary_data_size")
    return columns, rows


def _tensor_data(tensor: RequestInput, binary: bytes, offset: int) -> tuple[list, int]:
    size = tensor.parameters.get("binary_data_size")
    if size is None:
        if tensor.data is None:
            raise OipError(f"input '{tensor.name}' has neither data nor binary_data_size")
        if any(isinstance(value, list) for value in tensor.data):
            raise OipError(f"input '{tensor.name}' data must be a flat list for shape {tensor.shape}")
        return tensor.data, offset
    if tensor.data is not None:
        raise OipError(f"input '{tensor.name}' has both data and binary_data_size")
    if not isinstance(size, int) or size < 0 or offset + size > len(binary):
        raise OipError(f"input '{tensor.name}' binary_data_size {size!r} exceeds the binary data sent")
    raw, offset = binary[offset : offset + size], offset + size
    if tensor.datatype == "BYTES":
        return _unpack_bytes(tensor.name, raw), offset
    itemsize = np.dtype(NUMPY_TYPES[tensor.datatype]).itemsize
    if size % itemsize:
        raise OipError(f"input '{tensor.name}': {size} bytes is not a whole number of {tensor.datatype} values")
    return np.frombuffer(raw, dtype=NUMPY_TYPES[tensor.datatype]).tolist(), offset


def _unpack_bytes(name: str, raw: bytes) -> list[str]:
    values, at = [], 0
    while at < len(raw):
        if at + 4 > len(raw):
            raise OipError(f"input '{name}': a BYTES element's 4-byte length is cut short")
        (length,) = struct.unpack_from("<I", raw, at)
        if at + 4 + length > len(raw):
            raise OipError(f"input '{name}': a BYTES element is longer than the binary data sent")
        try:
            values.append(raw[at + 4 : at + 4 + length].decode())
        except UnicodeDecodeError:
            raise OipError(f"input '{name}': a BYTES element is not UTF-8 text") from None
        at += 4 + length
    return values


def check_outputs(request: InferenceRequest, meta: ModelMetadata) -> None:
    """OipError naming the first requested output the model does not have; checked before predicting, so a
    refused request is neither counted nor alerted on."""
    outputs = [tensor.name for tensor in output_tensors(meta)]
    if unknown := [o.name for o in request.outputs or [] if o.name not in outputs]:
        raise OipError(f"unknown output '{unknown[0]}': the model's outputs are {', '.join(outputs)}")


def response(
    model_id: str, request: InferenceRequest, tensors: dict[str, tuple[str, np.ndarray]]
) -> tuple[dict[str, Any], bytes]:
    """The response's JSON part and binary tail. `tensors`: output name -> (datatype, values); the outputs are
    those requested (all when none are named; checked by check_outputs), in binary when the request asks so per
    output or for all."""
    requested = request.outputs or []
    names = [o.name for o in request.outputs] if request.outputs is not None else list(tensors)
    binary_default = bool(request.parameters.get("binary_data_output", False))
    asked = {o.name: o.parameters.get("binary_data", binary_default) for o in requested}
    outputs, tail = [], []
    for name in names:
        datatype, values = tensors[name]
        tensor: dict[str, Any] = {
            "name": name,
            "datatype": datatype,
            "shape": list(values.shape),
        }
        if asked.get(name, binary_default):
            raw = _pack(datatype, values)
            tensor["parameters"] = {"binary_data_size": len(raw)}
            tail.append(raw)
        else:
            tensor["data"] = values.ravel().tolist()
        outputs.append(tensor)
    answer: dict[str, Any] = {"model_name": model_id, "outputs": outputs}
    if request.id is not None:
        answer["id"] = request.id
    return answer, b"".join(tail)


def _pack(datatype: str, values: np.ndarray) -> bytes:
    if datatype == "BYTES":
        return b"".join(struct.pack("<I", len(encoded)) + encoded for encoded in (str(v).encode() for v in values.ravel()))
    return np.ascontiguousarray(values, dtype=NUMPY_TYPES[datatype]).tobytes()


def prediction_tensors(predictions: Predictions) -> dict[str, tuple[str, np.ndarray]]:
    """The output tensors of n records' predictions (with novelty when the model has a detector)."""
    tensors = {
        "label": ("BYTES", predictions.labels),
        "is_attack": ("BOOL", predictions.is_attack),
        "confidence": ("FP32", predictions.confidence.astype(np.float32)),
        "probabilities": ("FP32", predictions.probabilities.astype(np.float32)),
    }
    if predictions.novelty_score is not None:
        tensors |= {
            "novelty_score": ("FP32", predictions.novelty_score.astype(np.float32)),
            "unknown": ("BOOL", predictions.unknown),
        }
    return tensors
