"""Single and batch predictions. The body types are generated from the metadata at start-up,
so this router is built by a function."""

from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, status

from service.deps import RegistryDep, get_current_user
from service.registry import Registry, ServedModel
from service.schemas.common import documented
from service.schemas.prediction import BatchPredictResponse, PredictionSchemas, PredictResponse


def build_router(schemas: PredictionSchemas) -> APIRouter:
    router = APIRouter(
        prefix="/predict", tags=["predict"], dependencies=[Depends(get_current_user)], responses=documented(401, 404)
    )

    # Sync routes: FastAPI runs them in its thread pool, so a large batch never blocks the event loop.
    @router.post("")
    def predict(
        body: Annotated[schemas.single, Body(openapi_examples=schemas.single_examples)], registry: RegistryDep
    ) -> PredictResponse:
        model = _choose_model(registry, body.dataset, body.model)
        return PredictResponse(model=model.id, prediction=model.predict([body.record])[0])

    @router.post("/batch", responses=documented(413))
    def predict_batch(
        body: Annotated[schemas.batch, Body(openapi_examples=schemas.batch_examples)], registry: RegistryDep
    ) -> BatchPredictResponse:
        model = _choose_model(registry, body.dataset, body.model)
        return BatchPredictResponse(model=model.id, predictions=model.predict(body.records))

    return router


def _choose_model(registry: Registry, dataset: str, model_id: str | None) -> ServedModel:
    if model_id is None:
        return registry.default_for(dataset)
    if model_id not in registry.models:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown model '{model_id}'")
    model = registry.models[model_id]
    if model.dataset != dataset:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                {
                    "loc": ["body", "model"],
                    "msg": f"model '{model_id}' serves '{model.dataset}' records, not '{dataset}'",
                    "type": "model_dataset_mismatch",
                }
            ],
        )
    return model
