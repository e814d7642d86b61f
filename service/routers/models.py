"""The served models, with their input features, test metrics and the trainer's figures."""

from fastapi import APIRouter, Depends, HTTPException, Response, status

from service.deps import RegistryDep, SettingsDep, get_current_user
from service.schemas.catalog import ModelInfo, ModelList, PlotName
from service.schemas.common import documented

router = APIRouter(
    prefix="/models", tags=["models"], dependencies=[Depends(get_current_user)], responses=documented(401, 429)
)


@router.get("")
def list_models(registry: RegistryDep, settings: SettingsDep) -> ModelList:
    return ModelList(models=registry.catalog, batch_limit=settings.batch_limit)


@router.get("/{model_id}", responses=documented(404))
def get_model(model_id: str, registry: RegistryDep) -> ModelInfo:
    return registry.get(model_id).info


@router.get(
    "/{model_id}/plots/{name}.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **documented(404)},
)
def get_plot(model_id: str, name: PlotName, registry: RegistryDep) -> Response:
    """One of the figures the trainer drew for this model, as listed in its `plots`."""
    model = registry.get(model_id)
    if name not in model.plots:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"model '{model_id}' has no {name} plot")
    return Response(model.plots[name], media_type="image/png")

