"""What `GET /models` says about each served model, taken from its metadata, metrics and index entry."""

from typing import Any, Literal

from pydantic import BaseModel, Field

from preprocess.metadata import CategoricalFeature, ModelMetadata, NoveltyInfo

# The figures the trainer writes beside each model (trainer/train.py), served by GET /models/{id}/plots/{name}.png.
PlotName = Literal["confusion_matrix", "class_balance", "training_history"]


class FeatureInfo(BaseModel):
    name: str
    type: Literal["integer", "number", "categorical"]
    minimum: float | None = None
    maximum: float | None = None
    choices: list[str] | None = Field(None, description="the values seen in training (categorical features)")
    closed: bool | None = Field(None, description="true when only `choices` are accepted; else other values encode as unseen")


class ClassMetrics(BaseModel):
    precision: float
    recall: float
    f1: float
    support: int


class ConfusionMatrix(BaseModel):
    labels: list[str]
    rows_true_columns_predicted: list[list[int]]


class Metrics(BaseModel):
    rows: int
    accuracy: float
    precision_macro: float
    recall_macro: float
    f1_macro: float
    precision_weighted: float
    recall_weighted: float
    f1_weighted: float
    specificity: float | None
    false_alarm_rate: float | None
    detection_rate: float | None
    per_class: dict[str, ClassMetrics]
    confusion_matrix: ConfusionMatrix
    f1_macro_difficulty_weighted: float | None = Field(
        None, description="nsl-kdd: macro-F1 with each record weighted 1 / (1 + the dataset's difficulty rating)"
    )
    alerts: dict[str, Any] | None = Field(
        None,
        description="records called attack or flagged unknown: shares of normal and attack records, and per attack type"
        " absent from training (models trained since alerts were recorded)",
    )


class ModelMetrics(BaseModel):
    """The trainer's held-out evaluation: `test`, and each extra test file by name."""

    test: Metrics
    extra_tests: dict[str, Metrics] = {}


class ModelInfo(BaseModel):
    id: str
    dataset: str
    task: Literal["binary", "multiclass"]
    architecture: str
    balancing: str
    classes: list[str]
    normal_class: str
    novelty: NoveltyInfo | None = Field(
        None,
        description="the unseen-attack detector (absent without one): its threshold, how it was set, and"
        " `unknown_is_attack`, true when a record it flags unknown is called an attack, never normal",
    )
    default: bool = Field(description="used by /predict when the request names no model")
    features: list[FeatureInfo]
    ignored_columns: list[str] = Field(description="accepted in records and not used")
    metrics: ModelMetrics
    examples: dict[str, dict[str, Any]] = Field(description="class -> one real test record of that class, as sent")
    plots: list[PlotName] = Field(description="the figures GET /models/{id}/plots/{name}.png serves for this model")


class ModelList(BaseModel):
    models: list[ModelInfo]
    batch_limit: int = Field(description="most records one /predict/batch request accepts")


def feature_infos(meta: ModelMetadata) -> list[FeatureInfo]:
    return [
        FeatureInfo(name=f.name, type="categorical", choices=f.vocabulary, closed=f.closed)
        if isinstance(f, CategoricalFeature)
        else FeatureInfo(name=f.name, type=f.dtype, minimum=f.minimum, maximum=f.maximum)
        for f in meta.features
    ]
