"""Prediction requests and answers.

The record types are generated from model metadata, so the feature list of a dataset exists once:
field names are the dataset's column names, so a row of its CSV file posts as it is.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from preprocess.metadata import CategoricalFeature, ModelMetadata, NumericFeature

OPEN_CATEGORY_MAX_LENGTH = 64
MODEL_ID_MAX_LENGTH = 128
# Counters are 64-bit at most; Python ints are unbounded, and a larger one would not even convert to float.
INT64_MAX = 2**63 - 1
# Identifiers and labels are ignored, but still bounded: a record is no place for megabytes of text.
IgnoredValue = int | float | bool | Annotated[str, Field(max_length=256)] | None


class Prediction(BaseModel):
    label: str
    is_attack: bool = Field(description="false only when the label is the model's normal class")
    confidence: float = Field(description="the probability of `label`")
    probabilities: dict[str, float] = Field(description="probability of each class")


class PredictResponse(BaseModel):
    model: str
    prediction: Prediction


class BatchPredictResponse(BaseModel):
    model: str
    predictions: list[Prediction] = Field(description="in the order of the request's records")


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
        f"{_class_name(meta.dataset)}Record",
        __config__=ConfigDict(
            extra="forbid", allow_inf_nan=False, json_schema_extra={"examples": [example]} if example else None
        ),
        __doc__=f"One {meta.dataset} flow record, keyed by the dataset's column names.",
        **fields,
    )


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


def _class_name(dataset: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", dataset))


@dataclass(frozen=True)
class PredictionSchemas:
    """The /predict and /predict/batch bodies (one model per dataset, told apart by `dataset`) and their examples."""

    single: Any
    batch: Any
    single_models: list[type[BaseModel]]
    batch_models: list[type[BaseModel]]
    single_examples: dict[str, dict]
    batch_examples: dict[str, dict]


def prediction_schemas(
    records: dict[str, type[BaseModel]], examples: dict[str, dict[str, dict]], batch_limit: int
) -> PredictionSchemas:
    singles, batches = [], []
    for dataset, record in records.items():
        name = _class_name(dataset)
        config = ConfigDict(extra="forbid")
        common: dict[str, Any] = {
            "dataset": (Literal[dataset], ...),
            "model": (
                str | None,
                Field(
                    None, max_length=MODEL_ID_MAX_LENGTH, description="a model id from /models; default: the dataset's default"
                ),
            ),
        }
        singles.append(create_model(f"{name}PredictRequest", __config__=config, **common, record=(record, ...)))
        records_field = Field(min_length=1, max_length=batch_limit, description=f"1 to {batch_limit} records")
        batches.append(
            create_model(f"{name}BatchPredictRequest", __config__=config, **common, records=(list[record], records_field))
        )
    return PredictionSchemas(
        single=_tagged(singles),
        batch=_tagged(batches),
        single_models=singles,
        batch_models=batches,
        single_examples={
            f"{dataset}: {label}": {
                "summary": f"{dataset}: a real {label} record",
                "value": {"dataset": dataset, "record": record},
            }
            for dataset, by_label in examples.items()
            for label, record in by_label.items()
        },
        batch_examples={
            dataset: {
                "summary": f"{dataset}: one real record per class",
                "value": {"dataset": dataset, "records": list(by_label.values())},
            }
            for dataset, by_label in examples.items()
        },
    )


def _tagged(models: list[type[BaseModel]]) -> Any:
    return Annotated[Union[tuple(models)], Field(discriminator="dataset")]  # noqa: UP007 (a runtime-built union)
