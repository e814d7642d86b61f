"""Liveness and readiness probes, open to all."""

import logging
from typing import Literal

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from service.deps import RegistryDep

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    ready: bool
    models_loaded: int
    database: Literal["ok", "unreachable"]


@router.get("/healthz")
async def healthz() -> Liveness:
    return Liveness()


@router.get("/readyz", responses={503: {"model": Readiness}})
def readyz(request: Request, response: Response, registry: RegistryDep) -> Readiness:
    try:
        with request.app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError as exc:
        log.warning("readiness: database unreachable: %s", type(exc).__name__)
        database = "unreachable"
    # Models are loaded and warmed up before the app exists, so only the database can be missing here.
    ready = database == "ok"
    if not ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Readiness(ready=ready, models_loaded=len(registry.models), database=database)
