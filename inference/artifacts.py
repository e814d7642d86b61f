"""Reading and verifying artifact files: `index.json`, each model's `metadata.json` and its ONNX bytes.

Every check names the file at fault in an `ArtifactError`, so a broken artifact stops whoever loads it
(the service at start-up, the command line, a batch job) with one line saying what to fix.
"""

import hashlib
import json
from pathlib import Path
from typing import TypeVar

import onnxruntime as ort
from pydantic import BaseModel, Field, ValidationError

from preprocess.metadata import MetadataError, ModelMetadata, load_metadata


class ArtifactError(RuntimeError):
    """An artifact that is missing, altered or inconsistent; the message names the file."""


class IndexEntry(BaseModel):
    id: str
    path: str
    dataset: str
    task: str
    architecture: str
    balancing: str


class Index(BaseModel):
    models: list[IndexEntry] = Field(min_length=1)
    dataset_defaults: dict[str, str]


Schema = TypeVar("Schema", bound=BaseModel)


def read_json(path: Path, schema: type[Schema]) -> Schema:
    try:
        return schema.model_validate(json.loads(path.read_text()))
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{path}: cannot read: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ArtifactError(f"{path}: invalid at '{'.'.join(map(str, first['loc']))}': {first['msg']}") from None


def dataset_defaults(index: Index, path: Path) -> dict[str, str]:
    """dataset -> id of its default model, which must be one of that dataset's models."""
    defaults = {}
    for dataset in sorted({entry.dataset for entry in index.models}):
        default = index.dataset_defaults.get(dataset)
        if default not in [entry.id for entry in index.models if entry.dataset == dataset]:
            raise ArtifactError(f"{path}: dataset_defaults must name one of the '{dataset}' models, not {default!r}")
        defaults[dataset] = default
    return defaults


def read_metadata(path: Path) -> ModelMetadata:
    try:
        return load_metadata(path)
    except MetadataError as exc:
        raise ArtifactError(str(exc)) from None


def check_listed(meta: ModelMetadata, entry: IndexEntry, path: Path) -> None:
    """The metadata describes the model its index entry lists."""
    listed = (entry.id, entry.dataset, entry.task, entry.architecture)
    if (meta.model_id, meta.dataset, meta.task, meta.architecture) != listed:
        raise ArtifactError(
            f"{path}: describes {meta.model_id} ({meta.dataset}, {meta.task}, {meta.architecture}), but index.json lists {listed}"
        )


def session_options(intra_op_threads: int = 1, inter_op_threads: int = 1) -> ort.SessionOptions:
    """How onnxruntime runs every model (bench/ reuses it, so what it measures is what the service runs).
    One thread each by default: the service scales with worker processes, a batch job with executors."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = inter_op_threads
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return options


def open_session(path: Path, meta: ModelMetadata, options: ort.SessionOptions) -> ort.InferenceSession:
    """The verified ONNX model: its sha256 is the one in the metadata, and it takes and gives what the metadata says."""
    try:
        data = path.read_bytes()  # hashed and loaded from the same bytes, so what is checked is what runs
    except OSError as exc:
        raise ArtifactError(f"{path}: cannot read the model: {exc.strerror}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != meta.onnx.sha256:
        raise ArtifactError(
            f"{path}: sha256 {digest} differs from {meta.onnx.sha256} in its metadata.json: the file was altered or truncated"
        )
    try:
        session = ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises several pybind11 exception types
        raise ArtifactError(f"{path}: onnxruntime cannot load it: {str(exc).splitlines()[0]}") from None
    inputs = [(i.name, i.shape[-1]) for i in session.get_inputs()]
    if inputs != [(meta.onnx.input_name, meta.onnx.input_width)]:
        raise ArtifactError(
            f"{path}: takes inputs {inputs}, not [('{meta.onnx.input_name}', {meta.onnx.input_width})] as its metadata.json says"
        )
    outputs = [o.name for o in session.get_outputs()]
    for name in [meta.onnx.output_name] + ([meta.novelty.output_name] if meta.novelty else []):
        if name not in outputs:
            raise ArtifactError(f"{path}: has no output '{name}'")
    return session
