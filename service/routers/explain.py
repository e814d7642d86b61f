"""Explanations: the prediction for one record, with each column's contribution to it. The body is /predict's,
generated from the metadata at start-up, so this router is built by a function."""

from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, status

from inference.explain import Explainer, NoBackground
from service.deps import RegistryDep, get_current_user
from service.registry import Registry
from service.schemas.common import documented
from service.schemas.explain import (
    ExplainResponse,
    FeatureContribution,
    PredictionExplanation,
)
from service.schemas.prediction import PredictionSchemas

METHOD = "Shapley values by antithetic permutation sampling; an absent column takes a background training row's value"


def build_router(schemas: PredictionSchemas, registry: Registry) -> APIRouter:
    explainers = {}
    for model_id, served in registry.models.items():
        try:
            explainers[model_id] = Explainer(served.model)
        except NoBackground:
            continue  # GET-able, predictable, and explained with a 409 naming the missing rows
    router = APIRouter(
        prefix="/predict",
        tags=["predict"],
        dependencies=[Depends(get_current_user)],
        responses=documented(401, 429),
    )

    # Sync: an explanation runs the model on thousands of masked rows, so it runs in the thread pool.
    # Without nulls: a prediction has `novelty` only when its model has a detector, as /predict answers it.
    @router.post("/explain", responses=documented(404, 409, 413), response_model_exclude_none=True)
    def explain(
        body: Annotated[schemas.single, Body(openapi_examples=schemas.single_examples)],
        registry: RegistryDep,
    ) -> ExplainResponse:
        """The prediction for one record, as /predict answers it, and each column's Shapley value for the
        probability of the predicted class."""
        served = registry.default_for(body.dataset) if body.model is None else registry.get(body.model)
        model = served.model
        if model.dataset != body.dataset:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                [
                    {
                        "loc": ["body", "model"],
                        "msg": f"model '{model.id}' serves '{model.dataset}' records, not '{body.dataset}'",
                        "type": "model_dataset_mismatch",
                    }
                ],
            )
        if model.id not in explainers:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"model '{model.id}' has no background rows in its metadata, so it cannot explain",
            )
        explainer = explainers[model.id]
        explained = explainer.explain(body.record.model_dump())
        return ExplainResponse(
            model=model.id,
            prediction=served.predict([body.record])[0],
            explanation=PredictionExplanation(
                label=explained.label,
                value=explained.value,
                base_value=explained.base_value,
                contributions=[FeatureContribution(feature=f, value=v, contribution=c) for f, v, c in explained.contributions],
                method=METHOD,
                background_rows=explainer.background_rows,
                permutations=explainer.permutations,
            ),
        )

    return router
