"""The served models: the inference core's verified models (inference/), with what the API adds to them:
their catalogue entry, metrics and figures, and each dataset's record type.

Everything a request needs is built here once, at start-up; a missing, altered or inconsistent artifact
stops start-up with an error naming the file.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from operator import attrgetter
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel

from inference import ArtifactError, Model, ModelLookup, ModelSet, load_models
from inference.artifacts import read_json
from service.schemas.catalog import ModelInfo, ModelMetrics, PlotName, feature_infos
from service.schemas.records import record_types


def values_of(names: list[str]) -> Callable[[Any], tuple]:
    """record -> the values of these attributes as a tuple, in one C call: half the time of a getattr per value."""
    if len(names) > 1:
        return attrgetter(*names)
    return (lambda record: (getattr(record, names[0]),)) if names else (lambda record: ())


@dataclass(frozen=True)
class ServedModel:
    info: ModelInfo
    model: Model
    plots: dict[str, bytes]  # name -> PNG, read once so a request never touches the file system

    @cached_property
    def _feature_values(self) -> Callable[[Any], tuple]:
        """record -> its feature values in metadata order."""
        return values_of([f.name for f in self.model.meta.features])

    def predict(self, records: Sequence[Any]) -> list[dict[str, Any]]:
        """Each validated record's answer, as the plain data of the `Prediction` schema: the routes serialise it
        as it is, which costs a fraction of building and re-validating a pydantic model per record."""
        return self.model.predict_columns(self.columns(records), len(records)).answers()

    def columns(self, records: Sequence[Any]) -> dict[str, tuple]:
        """Validated records (one attribute per column) -> feature name -> its values."""
        names = [f.name for f in self.model.meta.features]
        return dict(zip(names, zip(*map(self._feature_values, records), strict=True), strict=True))


@dataclass(frozen=True)
class Registry(ModelLookup[ServedModel]):
    """The served models by id and by dataset default (`get` raises UnknownModelError, answered 404 by
    service/errors.py), each dataset's record type and the catalogue."""

    records: dict[str, type[BaseModel]]  # dataset -> its record type, shared by all its models
    catalog: list[ModelInfo]  # what GET /models lists

    def examples(self) -> dict[str, dict[str, dict]]:
        """dataset -> {class: one real test record}, from each dataset's default model."""
        return {dataset: self.default_for(dataset).model.meta.examples for dataset in self.defaults}


def load_registry(root: Path, intra_op_threads: int = 1, inter_op_threads: int = 1) -> Registry:
    loaded = load_models(root, intra_op_threads, inter_op_threads)
    records = record_types(loaded)
    models = {model_id: _serve(loaded, model_id) for model_id in loaded.models}
    return Registry(models=models, defaults=loaded.defaults, records=records, catalog=[m.info for m in models.values()])


def _serve(loaded: ModelSet, model_id: str) -> ServedModel:
    entry, model, folder = loaded.entries[model_id], loaded.models[model_id], loaded.folder(model_id)
    metrics = read_json(folder / "metrics.json", ModelMetrics)
    plots = _read_plots(folder)
    info = ModelInfo(
        id=entry.id,
        dataset=entry.dataset,
        task=model.meta.task,
        architecture=entry.architecture,
        balancing=entry.balancing,
        classes=model.meta.classes,
        normal_class=model.meta.normal_class,
        novelty=model.meta.novelty,
        default=loaded.defaults[entry.dataset] == entry.id,
        features=feature_infos(model.meta),
        ignored_columns=model.meta.ignored_columns,
        metrics=metrics,
        examples=model.meta.examples,
        plots=list(plots),
    )
    return ServedModel(info=info, model=model, plots=plots)


def _read_plots(folder: Path) -> dict[str, bytes]:
    """The trainer's figures that are present: they illustrate the metrics, so a missing one is no start-up error."""
    paths = {name: folder / f"{name}.png" for name in get_args(PlotName)}
    try:
        return {name: path.read_bytes() for name, path in paths.items() if path.is_file()}
    except OSError as exc:
        raise ArtifactError(f"{exc.filename}: cannot read the plot: {exc.strerror}") from None
