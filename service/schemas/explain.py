"""What `POST /predict/explain` answers: the prediction, and how much each column moved it."""

from typing import Any

from pydantic import BaseModel, Field

from service.schemas.prediction import Prediction


class FeatureContribution(BaseModel):
    feature: str = Field(description="a column of the dataset")
    value: Any = Field(description="the record's value of it")
    contribution: float = Field(description="its Shapley value: how much it moved the probability of the explained class")


class PredictionExplanation(BaseModel):
    label: str = Field(description="the class explained: the predicted one")
    value: float = Field(description="the probability of `label` for this record")
    base_value: float = Field(description="the mean probability of `label` over the background training rows")
    contributions: list[FeatureContribution] = Field(
        description="one per column, largest |contribution| first; they add up to value - base_value"
    )
    method: str
    background_rows: int
    permutations: int


class ExplainResponse(BaseModel):
    model: str
    prediction: Prediction
    explanation: PredictionExplanation
