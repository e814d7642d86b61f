"""The record type of each dataset, generated from its models' metadata, so the feature list exists once:
field names are the dataset's column names, so a row of its CSV file posts as it is."""

import re
from collections.abc import Sequence
from itertools import zip_longest
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from inference import ArtifactError, ModelSet
from preprocess.metadata import CategoricalFeature, ModelMetadata, NumericFeature

OPEN_CATEGORY_MAX_LENGTH = 64
# Counters are 64-bit at most; Python ints are unbounded, and a larger one would not even convert to float.
INT64_MAX = 2**63 - 1
# Identifiers and labels are ignored, but still bounded: a record is no place for megabytes of text.
IGNORED_TEXT_MAX_LENGTH = 256
IgnoredValue = int | float | bool | Annotated[str, Field(max_length=IGNORED_TEXT_MAX_LENGTH)] | None


def record_types(models: ModelSet) -> dict[str, type[BaseModel]]:
    """dataset -> the one record type all its models answer; they must take the same columns, and every
    model's example records must be valid ones."""
    return {dataset: _record_type(models, dataset) for dataset in models.defaults}


def _record_type(models: ModelSet, dataset: str) -> type[BaseModel]:
    default = models.defaults[dataset]
    members = [default] + [i for i, model in models.models.items() if model.dataset == dataset and i != default]
    reference = models.models[default].meta
    for model_id in members:
        _check_same_inputs(models.models[model_id].meta, reference, models.folder(model_id), models.folder(default))
    record = record_model([models.models[model_id].meta for model_id in members])
    for model_id in members:
        _check_examples(models.models[model_id].meta, record, models.folder(model_id) / "metadata.json")
    return record


def record_model(models: Sequence[ModelMetadata]) -> type[BaseModel]:
    """The record type of a dataset, from the metadata of its models (which take the same columns).

    Features are typed and bounded, unknown fields rejected. A closed categorical accepts the values
    any of the models saw in training; a model that did not see one encodes it as unseen.
    """
    meta = models[0]
    choices = {f.name: sorted({v for m in models for v in _vocabulary(m, f.name)}) for f in meta.features}
    fields: dict[str, Any] = {f.name: _feature_field(f, choices[f.name]) for f in meta.features}
    fields |= {name: (IgnoredValue, Field(None, description="accepted and ignored")) for name in meta.ignored_columns}
    example = next(iter(meta.examples.values()), None)
    return create_model(
        f"{class_name(meta.dataset)}Record",
        __config__=ConfigDict(
            extra="forbid", allow_inf_nan=False, json_schema_extra={"examples": [example]} if example else None
        ),
        __doc__=f"One {meta.dataset} flow record, keyed by the dataset's column names.",
        **fields,
    )


def class_name(dataset: str) -> str:
    """A dataset id as a class-name prefix: nf-bot-iot-v2 -> NfBotIotV2."""
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", dataset))


def _vocabulary(meta: ModelMetadata, name: str) -> list[str]:
    feature = next(f for f in meta.features if f.name == name)
    return feature.vocabulary if isinstance(feature, CategoricalFeature) else []


def _feature_field(feature: NumericFeature | CategoricalFeature, choices: list[str]) -> tuple[Any, Any]:
    if isinstance(feature, CategoricalFeature):
        if feature.closed:
            return Literal[tuple(choices)], Field(description="one of the values seen in training: the set is closed")
        return str, Field(
            max_length=OPEN_CATEGORY_MAX_LENGTH, description="a value not seen in training is encoded as unseen (all zero)"
        )
    if feature.dtype == "integer":
        low, high = (None if b is None else int(b) for b in (feature.minimum, feature.maximum))
        return int, Field(ge=low, le=INT64_MAX if high is None else high)
    return float, Field(ge=feature.minimum, le=feature.maximum)


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


def max_json_members(records: dict[str, type[BaseModel]]) -> int:
    """The most members a JSON object of a request may have: every field of the largest record and a few unknown
    ones, each reported by name (pydantic reports every unknown member, so unbounded they cost seconds)."""
    return max(len(record.model_fields) for record in records.values()) + 16
