"""Open Inference Protocol (v2) bodies, as KServe and Triton define them: tensors of a name, a datatype, a shape
and the data flattened in row-major order. Parameters are free-form maps in the protocol, so they stay dicts."""

from typing import Any, Literal

from pydantic import BaseModel, Field

Datatype = Literal[
    "BOOL",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "FP16",
    "FP32",
    "FP64",
    "BYTES",
    "BF16",
]


class RequestInput(BaseModel):
    name: str
    shape: list[int]
    datatype: Datatype
    parameters: dict[str, Any] = {}
    data: list[Any] | None = Field(None, description="absent when the tensor is sent as binary data after the JSON")


class RequestOutput(BaseModel):
    name: str
    parameters: dict[str, Any] = {}


class InferenceRequest(BaseModel):
    id: str | None = Field(None, max_length=256, description="echoed in the response")
    parameters: dict[str, Any] = {}
    inputs: list[RequestInput]
    outputs: list[RequestOutput] | None = Field(None, description="the outputs to return; all when absent")


class ResponseOutput(BaseModel):
    name: str
    shape: list[int]
    datatype: Datatype
    parameters: dict[str, Any] | None = None
    data: list[Any] | None = None


class InferenceResponse(BaseModel):
    model_name: str
    id: str | None = None
    outputs: list[ResponseOutput]


class TensorMetadata(BaseModel):
    name: str
    datatype: Datatype
    shape: list[int] = Field(description="-1 for the batch dimension")


class ModelMetadataResponse(BaseModel):
    name: str
    versions: list[str] = []
    platform: str
    inputs: list[TensorMetadata] = Field(description="one per dataset column, each of shape [n] for n records")
    optional_inputs: list[TensorMetadata] = Field(
        [],
        description="the flow's endpoint columns (addresses, ports), which the model ignores: sent along, they give "
        "the alerts of attack verdicts their source and destination (an addition to the protocol's fields)",
    )
    outputs: list[TensorMetadata]
    classes: list[str] = Field(description="the class order of `probabilities` (an addition to the protocol's fields)")


class ServerMetadataResponse(BaseModel):
    name: str
    version: str
    extensions: list[str]


class LiveResponse(BaseModel):
    live: bool


class ReadyResponse(BaseModel):
    ready: bool


class ModelReadyResponse(BaseModel):
    name: str
    ready: bool


class ErrorResponse(BaseModel):
    error: str
