"""Loading models: one folder, or every model an `index.json` lists with each dataset's default."""

from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np
import onnxruntime as ort

from inference.artifacts import (
    ArtifactError,
    Index,
    IndexEntry,
    check_listed,
    dataset_defaults,
    open_session,
    read_json,
    read_metadata,
    session_options,
)
from inference.model import Model
from preprocess.metadata import ModelMetadata


class UnknownModelError(LookupError):
    """A model id that the index does not list."""

    def __init__(self, model_id: str):
        super().__init__(f"unknown model '{model_id}'")
        self.model_id = model_id


AnyModel = TypeVar("AnyModel")


@dataclass(frozen=True)
class ModelLookup(Generic[AnyModel]):
    """Models by id, and which one answers for a dataset when none is named (the service's wrapped models too)."""

    models: dict[str, AnyModel]
    defaults: dict[str, str]  # dataset -> id of its default model

    def get(self, model_id: str) -> AnyModel:
        if model_id not in self.models:
            raise UnknownModelError(model_id)
        return self.models[model_id]

    def default_for(self, dataset: str) -> AnyModel:
        return self.models[self.defaults[dataset]]


@dataclass(frozen=True)
class ModelSet(ModelLookup[Model]):
    """The models of one artifacts folder."""

    root: Path
    entries: dict[str, IndexEntry]  # id -> its index.json entry

    def folder(self, model_id: str) -> Path:
        return self.root / self.entries[model_id].path


def load_models(root: Path, intra_op_threads: int = 1, inter_op_threads: int = 1) -> ModelSet:
    """Every model `root/index.json` lists, each verified (metadata, sha256, inputs and outputs) and warmed up."""
    index_path = root / "index.json"
    index = read_json(index_path, Index)
    metadata = {}
    for entry in index.models:
        path = root / entry.path / "metadata.json"
        metadata[entry.id] = read_metadata(path)
        check_listed(metadata[entry.id], entry, path)
    defaults = dataset_defaults(index, index_path)
    options = session_options(intra_op_threads, inter_op_threads)
    models = {entry.id: load_model(root / entry.path, options, metadata[entry.id]) for entry in index.models}
    return ModelSet(root=root, entries={entry.id: entry for entry in index.models}, models=models, defaults=defaults)


def load_model(folder: Path, options: ort.SessionOptions | None = None, meta: ModelMetadata | None = None) -> Model:
    """The model in `folder` (its metadata.json, read here unless given, and the ONNX file it names), warmed up."""
    meta = meta or read_metadata(folder / "metadata.json")
    path = folder / meta.onnx.file
    model = Model(meta, open_session(path, meta, options or session_options()))
    _warm_up(model, path)
    return model


def _warm_up(model: Model, path: Path) -> None:
    """One real inference before the first request: it also proves the outputs are a probability per class
    (and one novelty score per record)."""
    rows = list(model.meta.examples.values()) or [{}]
    probabilities, *novelty = model.run(model.preprocessor.transform(rows))
    expected = (len(rows), len(model.meta.classes))
    if probabilities.shape != expected or not np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-3):
        raise ArtifactError(f"{path}: output of shape {probabilities.shape} is not {expected} class probabilities summing to 1")
    if novelty and novelty[0].shape not in [(len(rows),), (len(rows), 1)]:
        raise ArtifactError(
            f"{path}: novelty output '{model.meta.novelty.output_name}' of shape {novelty[0].shape} is not one score per record"
        )
