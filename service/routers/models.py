"""The served models, with their input features and test metrics."""

from fastapi import APIRouter, Depends, HTTPException, status

from service.deps import RegistryDep, get_current_user
from service.schemas.catalog import ModelInfo, ModelList
from service.schemas.common import documented

router = APIRouter(prefix="/models", tags=["models"], dependencies=[Depends(get_current_user)], responses=documented(401))


@router.get("")
def list_models(registry: RegistryDep) -> ModelList:
    return registry.catalog


@router.get("/{model_id}", responses=documented(404))
def get_model(model_id: str, registry: RegistryDep) -> ModelInfo:
    if model_id not in registry.models:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown model '{model_id}'")
    return registry.models[model_id].info
