"""The served models: each one listed in `artifacts/index.json`, verified, loaded into onnxruntime and warmed up.

Everything a request needs (sessions, preprocessors, record types, the catalogue) is built here
once, at start-up; a missing, altered or inconsistent artifact stops start-up with an error naming the file.
"""

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import zip_longest
from operator import attrgetter
from pathlib import Path
from typing import Any, TypeVar, get_args

import numpy as np
import onnxruntime as ort
from pydantic import BaseModel, Field, ValidationError

from preprocess.metadata import CategoricalFeature, MetadataError, ModelMetadata, OnnxModelInfo, load_metadata
from preprocess.transform import Preprocessor
from service.schemas.catalog import ModelInfo, ModelMetrics, PlotName, feature_infos
from service.schemas.prediction import record_model

# Rows per onnxruntime call. The convolutions' intermediate tensors take ~16 kB per NSL-KDD row; a whole
# batch of 1,000 outgrows the CPU cache and runs about twice as slow per row as in pieces of this size
# (bench/inprocess.py measures both ways).
INFERENCE_ROWS = 128


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


@dataclass(frozen=True)
class ServedModel:
    info: ModelInfo
    meta: ModelMetadata
    preprocessor: Preprocessor
    session: ort.InferenceSession
    plots: dict[str, bytes]  # name -> PNG, read once so a request never touches the file system

    @property
    def id(self) -> str:
        return self.meta.model_id

    @property
    def dataset(self) -> str:
        return self.meta.dataset

    @cached_property
    def _feature_values(self) -> Callable[[Any], tuple]:
        """record -> its feature values in metadata order, in one C call: half the time of a getattr per value."""
        names = [f.name for f in self.meta.features]
        get = attrgetter(*names)
        return get if len(names) > 1 else lambda record: (get(record),)

    def columns(self, records: Sequence[Any]) -> dict[str, Sequence[Any]]:
        """Validated records (one attribute per column) as the preprocessor's column input."""
        return dict(zip([f.name for f in self.meta.features], zip(*map(self._feature_values, records)), strict=True))

    def encode(self, columns: Mapping[str, Sequence[Any]], n_rows: int) -> np.ndarray:
        return self.preprocessor.transform_columns(columns, n_rows)

    def probabilities(self, encoded: np.ndarray) -> np.ndarray:
        """One row of class probabilities per encoded row."""
        return infer(self.session, self.meta.onnx, encoded)

    def answers(self, probabilities: np.ndarray) -> list[dict[str, Any]]:
        """Each record's prediction, as the plain data of the `Prediction` schema: the routes serialise it
        as it is, which costs a fraction of building and re-validating a pydantic model per record."""
        classes = self.meta.classes
        best = probabilities.argmax(axis=1)
        attack = np.array([c != self.meta.normal_class for c in classes])[best].tolist()
        rows = probabilities.tolist()
        return [
            {"label": classes[b], "is_attack": a, "confidence": row[b], "probabilities": dict(zip(classes, row, strict=True))}
            for b, a, row in zip(best.tolist(), attack, rows, strict=True)
        ]

    def predict(self, records: Sequence[Any]) -> list[dict[str, Any]]:
        return self.answers(self.probabilities(self.encode(self.columns(records), len(records))))


def infer(session: ort.InferenceSession, onnx: OnnxModelInfo, encoded: np.ndarray) -> np.ndarray:
    """Class probabilities of encoded rows, computed INFERENCE_ROWS at a time."""
    output, name = [onnx.output_name], onnx.input_name
    parts = [session.run(output, {name: encoded[i : i + INFERENCE_ROWS]})[0] for i in range(0, len(encoded), INFERENCE_ROWS)]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


@dataclass(frozen=True)
class Registry:
    models: dict[str, ServedModel]
    defaults: dict[str, str]  # dataset -> id of the model used when a request names none
    records: dict[str, type[BaseModel]]  # dataset -> its record type, shared by all its models
    catalog: list[ModelInfo]  # what GET /models lists

    def default_for(self, dataset: str) -> ServedModel:
        return self.models[self.defaults[dataset]]

    def examples(self) -> dict[str, dict[str, dict]]:
        """dataset -> {class: one real test record}, from each dataset's default model."""
        return {dataset: self.default_for(dataset).meta.examples for dataset in self.defaults}


def load_registry(root: Path, intra_op_threads: int = 1, inter_op_threads: int = 1) -> Registry:
    index = _read_json(root / "index.json", Index)
    metadata = {entry.id: (entry, _load_metadata(root, entry)) for entry in index.models}
    defaults = _dataset_defaults(index, root / "index.json")
    records = {
        dataset: _record_type(root, [(e, m) for e, m in metadata.values() if e.dataset == dataset], default)
        for dataset, default in defaults.items()
    }
    options = session_options(intra_op_threads, inter_op_threads)
    models = {
        entry.id: _serve(root / entry.path, entry, meta, defaults[entry.dataset] == entry.id, options)
        for entry, meta in metadata.values()
    }
    return Registry(models=models, defaults=defaults, records=records, catalog=[m.info for m in models.values()])


def session_options(intra_op_threads: int = 1, inter_op_threads: int = 1) -> ort.SessionOptions:
    """How the service runs onnxruntime (bench/ reuses it, so what it measures is what the service runs)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = inter_op_threads
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return options


def _dataset_defaults(index: Index, path: Path) -> dict[str, str]:
    defaults = {}
    for dataset in sorted({entry.dataset for entry in index.models}):
        default = index.dataset_defaults.get(dataset)
        if default not in [entry.id for entry in index.models if entry.dataset == dataset]:
            raise ArtifactError(f"{path}: dataset_defaults must name one of the '{dataset}' models, not {default!r}")
        defaults[dataset] = default
    return defaults


def _record_type(root: Path, members: list[tuple[IndexEntry, ModelMetadata]], default: str) -> type[BaseModel]:
    """The one record type all models of a dataset answer, so they must take the same columns."""
    reference_entry, reference = next((e, m) for e, m in members if e.id == default)
    for entry, meta in members:
        _check_same_inputs(meta, reference, root / entry.path, root / reference_entry.path)
    record = record_model([reference] + [meta for entry, meta in members if entry.id != default])
    for entry, meta in members:
        _check_examples(meta, record, root / entry.path / "metadata.json")
    return record


Schema = TypeVar("Schema", bound=BaseModel)


def _read_json(path: Path, schema: type[Schema]) -> Schema:
    try:
        return schema.model_validate(json.loads(path.read_text()))
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{path}: cannot read: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ArtifactError(f"{path}: invalid at '{'.'.join(map(str, first['loc']))}': {first['msg']}") from None


def _load_metadata(root: Path, entry: IndexEntry) -> ModelMetadata:
    path = root / entry.path / "metadata.json"
    try:
        meta = load_metadata(path)
    except MetadataError as exc:
        raise ArtifactError(str(exc)) from None
    listed = (entry.id, entry.dataset, entry.task, entry.architecture)
    if (meta.model_id, meta.dataset, meta.task, meta.architecture) != listed:
        raise ArtifactError(
            f"{path}: describes {meta.model_id} ({meta.dataset}, {meta.task}, {meta.architecture}), but index.json lists {listed}"
        )
    return meta


def _input_signature(meta: ModelMetadata) -> list[tuple]:
    """What clients send: names, types and bounds (not vocabularies or scaling, which are fitted per model)."""
    signature = [
        (f.name, "categorical", f.closed) if isinstance(f, CategoricalFeature) else (f.name, f.dtype, f.minimum, f.maximum)
        for f in meta.features
    ]
    return signature + [(name, "ignored") for name in meta.ignored_columns]


def _check_same_inputs(meta: ModelMetadata, reference: ModelMetadata, folder: Path, reference_folder: Path) -> None:
    for ours, theirs in zip_longest(_input_signature(meta), _input_signature(reference)):
        if ours != theirs:
            raise ArtifactError(
                f"{folder / 'metadata.json'}: input column {ours} differs from {theirs} in {reference_folder / 'metadata.json'}; "
                f"all models of '{meta.dataset}' must take the same record"
            )


def _check_examples(meta: ModelMetadata, record: type[BaseModel], path: Path) -> None:
    for label, example in meta.examples.items():
        try:
            record.model_validate(example)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ArtifactError(
                f"{path}: example '{label}' is not a valid record at '{first['loc'][0]}': {first['msg']}"
            ) from None


def _serve(folder: Path, entry: IndexEntry, meta: ModelMetadata, default: bool, options: ort.SessionOptions) -> ServedModel:
    metrics = _read_json(folder / "metrics.json", ModelMetrics)
    session = _open_session(folder / meta.onnx.file, meta, options)
    plots = _read_plots(folder)
    model = ServedModel(
        info=ModelInfo(
            id=entry.id,
            dataset=entry.dataset,
            task=meta.task,
            architecture=entry.architecture,
            balancing=entry.balancing,
            classes=meta.classes,
            normal_class=meta.normal_class,
            default=default,
            features=feature_infos(meta),
            ignored_columns=meta.ignored_columns,
            metrics=metrics,
            examples=meta.examples,
            plots=list(plots),
        ),
        meta=meta,
        preprocessor=Preprocessor(meta),
        session=session,
        plots=plots,
    )
    _warm_up(model, folder / meta.onnx.file)
    return model


def _read_plots(folder: Path) -> dict[str, bytes]:
    """The trainer's figures that are present: they illustrate the metrics, so a missing one is no start-up error."""
    paths = {name: folder / f"{name}.png" for name in get_args(PlotName)}
    try:
        return {name: path.read_bytes() for name, path in paths.items() if path.is_file()}
    except OSError as exc:
        raise ArtifactError(f"{exc.filename}: cannot read the plot: {exc.strerror}") from None


def _open_session(path: Path, meta: ModelMetadata, options: ort.SessionOptions) -> ort.InferenceSession:
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
    if meta.onnx.output_name not in [o.name for o in session.get_outputs()]:
        raise ArtifactError(f"{path}: has no output '{meta.onnx.output_name}'")
    return session


def _warm_up(model: ServedModel, path: Path) -> None:
    """One real inference before the first request: it also proves the output is a probability per class."""
    rows = list(model.meta.examples.values()) or [{}]
    encoded = model.preprocessor.transform(rows)
    output = model.session.run([model.meta.onnx.output_name], {model.meta.onnx.input_name: encoded})[0]
    expected = (len(rows), len(model.meta.classes))
    if output.shape != expected or not np.allclose(output.sum(axis=1), 1.0, atol=1e-3):
        raise ArtifactError(f"{path}: output of shape {output.shape} is not {expected} class probabilities summing to 1")
