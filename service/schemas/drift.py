"""What `GET /models/{id}/drift` answers: how the records a model received lately compare with its training data."""

from typing import Annotated, Literal

from pydantic import BaseModel, Field

Status = Literal["insufficient-data", "stable", "moderate", "drift"]
Share = Annotated[float, Field(ge=0, le=1)]


class DriftBin(BaseModel):
    """One bin of a feature's distribution: its share of the training rows beside its share of the recent records."""

    bin: Annotated[str, Field(description="a value range (numeric) or a category")]
    training: Annotated[Share, Field(description="share of the training rows in this bin")]
    recent: Annotated[Share, Field(description="share of the recent records in this bin")]


class FeatureDrift(BaseModel):
    """How far one feature's recent values moved from its training distribution."""

    feature: str
    psi: Annotated[float, Field(ge=0, description="population stability index of the recent records against training")]
    status: Status
    bins: list[DriftBin]


class DriftReport(BaseModel):
    model: str
    status: Status = Field(description="the worst feature's status, or insufficient-data below `min_records`")
    records: int = Field(description="records in the window the PSI is computed over, summed over the service's workers")
    window: int = Field(
        description="the records the window can hold: the most recent records kept per worker, times the workers "
        "that have received records for the model"
    )
    seen: int = Field(description="records the service's running workers have predicted for the model since they started")
    min_records: int
    thresholds: dict[str, float] = Field(description="PSI from which a feature counts as moderate or drift")
    features: list[FeatureDrift] = Field(description="largest PSI first")
