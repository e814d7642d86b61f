"""Liveness and readiness probes, open to all."""

import logging
from typing import Literal

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel
from sqlalchemy import Engine, text
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


def database_reachable(engine: Engine) -> bool:
    """Models are loaded and warmed up before the app exists, so only the database can be missing."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError as exc:
        log.warning("readiness: database unreachable: %s", type(exc).__name__)
        return False


@router.get("/healthz")
async def healthz() -> Liveness:
    return Liveness()


@router.get("/readyz", responses={503: {"model": Readiness}})
def readyz(request: Request, response: Response, registry: RegistryDep) -> Readiness:
    database = "ok" if database_reachable(request.app.state.engine) else "unreachable"
    ready = database == "ok"
    if not ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Readiness(ready=ready, models_loaded=len(registry.models), database=database)
