"""Prediction requests and answers. The request bodies are built at start-up around each dataset's
record type (service/schemas/records.py), one body per dataset, told apart by `dataset`."""

from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from service.schemas.records import class_name

MODEL_ID_MAX_LENGTH = 128


class Novelty(BaseModel):
    """How unlike the training data the record is, from the model's novelty detector (fitted on training rows only)."""

    score: float = Field(description="the detector's score: higher is less like the training data")
    threshold: float = Field(description="the score above which a record is flagged unknown, set on validation data")
    unknown: bool = Field(description="true when `score` is above `threshold`: traffic unlike any seen in training")


class Prediction(BaseModel):
    label: str = Field(
        description="the class the record is called: the most probable one, except that a model whose detector decides"
        " (`novelty.unknown_is_attack` in /models) calls a record flagged unknown its most probable attack class"
    )
    is_attack: bool = Field(description="false only when the label is the model's normal class")
    confidence: float = Field(description="the probability of `label`")
    probabilities: dict[str, float] = Field(description="probability of each class")
    novelty: Novelty | None = Field(None, description="present only when the model has a novelty detector")


class PredictResponse(BaseModel):
    model: str
    prediction: Prediction


class BatchPredictResponse(BaseModel):
    model: str
    predictions: list[Prediction] = Field(description="in the order of the request's records")


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
        name = class_name(dataset)
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
