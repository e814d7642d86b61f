"""The versioned metadata file the trainer writes beside each ONNX model.

It is the single source of truth for a model's input: feature names, types, bounds,
categorical vocabularies, fitted scaling, encoded order and class labels. The service
builds its request schemas and its transform from it and repeats none of it by hand.
"""

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from preprocess.defaults import DATASET_IDS, TASKS

METADATA_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QuantileKnots(_Strict):
    """A numeric feature's training distribution function: the encoded value of v is `levels` interpolated between
    the knots `values` (strictly increasing), linearly in asinh(v), and the first or last level beyond them."""

    values: list[float] = Field(min_length=2)
    levels: list[float] = Field(min_length=2)


class NumericFeature(_Strict):
    """encoded = clip((v' - offset) / scale, 0, 1), v' = log1p(max(v, 0)) if log1p else v; or, when `quantiles`
    is set, v's training quantile level (log1p, offset and scale then unused). v is replaced by fill_value when
    missing, NaN or infinite."""

    kind: Literal["numeric"] = "numeric"
    name: str
    dtype: Literal["integer", "number"]
    minimum: float | None = Field(description="domain lower bound accepted from clients")
    maximum: float | None = Field(description="domain upper bound accepted from clients")
    train_min: float
    train_max: float
    fill_value: float = Field(description="training median, used for missing or non-finite values")
    log1p: bool
    offset: float
    scale: float = Field(gt=0)
    quantiles: QuantileKnots | None = None


class CategoricalFeature(_Strict):
    """One-hot over `vocabulary`; a value outside it encodes as all zeros."""

    kind: Literal["categorical"] = "categorical"
    name: str
    vocabulary: list[str] = Field(min_length=1)
    closed: bool = Field(description="true when the set of values is fixed by the protocol, so clients must use one")


Feature = Annotated[NumericFeature | CategoricalFeature, Field(discriminator="kind")]


class OnnxModelInfo(_Strict):
    file: str = "model.onnx"
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    input_name: str
    input_width: int = Field(gt=0)
    output_name: str
    opset: int


class NoveltyInfo(_Strict):
    """How unlike the training data a record is: a second output of the model's ONNX graph, computed by a
    detector fitted on training rows only. A score above `threshold` flags the record as unknown."""

    output_name: str = "novelty"
    method: str = Field(description="what the score measures, in a few words")
    threshold: float = Field(description="set on the validation split so that at most `budget` of its normal records are counted")
    budget: float = Field(gt=0, lt=1)
    budget_of: Literal["flagged", "alerted"] = Field(
        "flagged", description="what the budget counts: normal records flagged unknown, or alerted (called attack or flagged)"
    )
    validation_normal_flagged: float = Field(description="the share of normal validation records above the threshold")
    unknown_is_attack: bool = Field(
        False,
        description="a record flagged unknown is never called normal, but its most probable attack class (preprocess/verdict.py)",
    )


class FeatureProfile(_Strict):
    """One feature's training distribution, for drift: the share of training rows in each bin.

    Numeric: `edges` are the inner bin edges (bins are (-inf, e0], (e0, e1], ..., (e_last, inf)); missing and
    non-finite values count in the bin of the fill value. Categorical: one bin per `categories` entry, then
    one for every other value."""

    name: str
    edges: list[float] | None = None
    categories: list[str] | None = None
    proportions: list[float]


class ModelMetadata(_Strict):
    format_version: Literal[1] = METADATA_VERSION
    model_id: str
    dataset: Literal[DATASET_IDS]
    task: Literal[TASKS]
    architecture: str = Field(description="cnn, cnn-lstm, or an ensemble of models described in `training`")
    features: list[Feature] = Field(min_length=1)
    ignored_columns: list[str] = Field(description="accepted in records and never used: identifiers and labels")
    encoded_features: list[str]
    classes: list[str] = Field(min_length=2)
    normal_class: str
    unseen_category_rule: Literal["all-zero"] = "all-zero"
    missing_value_rule: Literal["training-median"] = "training-median"
    balancing: dict[str, Any]
    training: dict[str, Any]
    examples: dict[str, dict[str, Any]] = Field(description="one real test record per class, raw")
    onnx: OnnxModelInfo
    novelty: NoveltyInfo | None = None
    training_profile: list[FeatureProfile] | None = Field(None, description="per-feature training distribution, for drift")
    background: list[dict[str, Any]] | None = Field(None, description="a few raw training records, for explanations")


class MetadataError(ValueError):
    """A metadata file that is missing, unreadable or does not match the schema."""


def load_metadata(path: Path) -> ModelMetadata:
    try:
        raw = json.loads(Path(path).read_text())
        meta = ModelMetadata.model_validate(raw)
    except (OSError, json.JSONDecodeError) as exc:
        raise MetadataError(f"{path}: cannot read metadata: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "<root>"
        raise MetadataError(f"{path}: invalid metadata at '{where}': {first['msg']}") from None
    if meta.normal_class not in meta.classes:
        raise MetadataError(f"{path}: normal_class '{meta.normal_class}' is not one of the classes")
    if len(meta.encoded_features) != meta.onnx.input_width:
        raise MetadataError(f"{path}: {len(meta.encoded_features)} encoded features but ONNX input width {meta.onnx.input_width}")
    return meta
