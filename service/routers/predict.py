"""Single and batch predictions. The body types are generated from the metadata at start-up,
so this router is built by a function."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Response, status
from pydantic_core import to_json

from service.deps import RegistryDep, get_current_user
from service.registry import Registry, ServedModel
from service.schemas.common import documented
from service.schemas.prediction import BatchPredictResponse, PredictionSchemas, PredictResponse


def build_router(schemas: PredictionSchemas) -> APIRouter:
    router = APIRouter(
        prefix="/predict",
        tags=["predict"],
        dependencies=[Depends(get_current_user)],
        responses=documented(401, 404, 413, 429),
    )

    # One record takes tens of microseconds, less than the two hand-offs to FastAPI's thread pool that a
    # sync route costs (one to run it, one to check its answer), so it runs on the event loop.
    @router.post("", response_model=PredictResponse)
    async def predict(
        body: Annotated[schemas.single, Body(openapi_examples=schemas.single_examples)], registry: RegistryDep
    ) -> Response:
        model = _choose_model(registry, body.dataset, body.model)
        return _json({"model": model.info.id, "prediction": model.predict([body.record])[0]})

    # Sync: FastAPI runs it in its thread pool, so a large batch never blocks the event loop.
    @router.post("/batch", response_model=BatchPredictResponse, responses=documented(413))
    def predict_batch(
        body: Annotated[schemas.batch, Body(openapi_examples=schemas.batch_examples)], registry: RegistryDep
    ) -> Response:
        model = _choose_model(registry, body.dataset, body.model)
        return _json({"model": model.info.id, "predictions": model.predict(body.records)})

    return router


def _json(answer: dict[str, Any]) -> Response:
    """The answer serialised once by pydantic-core; FastAPI sends a Response as it is, without re-validating
    every prediction against the response model (which still documents the answer)."""
    return Response(to_json(answer), media_type="application/json")


def _choose_model(registry: Registry, dataset: str, model_id: str | None) -> ServedModel:
    if model_id is None:
        return registry.default_for(dataset)
    model = registry.get(model_id)
    if model.info.dataset != dataset:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                {
                    "loc": ["body", "model"],
                    "msg": f"model '{model_id}' serves '{model.info.dataset}' records, not '{dataset}'",
                    "type": "model_dataset_mismatch",
                }
            ],
        )
    return model
