"""Drift: whether the records a model receives still look like its training data."""

from fastapi import APIRouter, Depends, HTTPException, status

from service.deps import RegistryDep, get_current_user
from service.drift import DriftMonitorsDep, NoProfile
from service.schemas.common import documented
from service.schemas.drift import DriftReport

router = APIRouter(
    prefix="/models",
    tags=["models"],
    dependencies=[Depends(get_current_user)],
    responses=documented(401, 429),
)


@router.get("/{model_id}/drift", responses=documented(404, 409))
def get_drift(model_id: str, registry: RegistryDep, monitors: DriftMonitorsDep) -> DriftReport:
    """Per-feature PSI of the model's most recent records against its training profile, largest first (the
    records of every worker of the service, whichever one answers)."""
    registry.get(model_id)  # an unknown model is a 404 (service/errors.py)
    try:
        return monitors.report(model_id)
    except NoProfile as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
