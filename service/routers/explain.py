"""Explanations: the prediction for one record, with each column's contribution to it. The body is /predict's,
generated from the metadata at start-up, so this router is built by a function."""

from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, status

from service.deps import RegistryDep, get_current_user
from service.explain import Explainer, NoBackground
from service.registry import Registry, infer
from service.schemas.common import documented
from service.schemas.explain import ExplainResponse, FeatureContribution, PredictionExplanation
from service.schemas.prediction import PredictionSchemas

METHOD = "Shapley values by antithetic permutation sampling; an absent column takes a background training row's value"


def build_router(schemas: PredictionSchemas, registry: Registry) -> APIRouter:
    explainers = {}
    for model in registry.models.values():
        try:
            explainers[model.id] = Explainer(
                model.meta, model.preprocessor, lambda rows, m=model: infer(m.session, m.meta.onnx, rows)
            )
        except NoBackground:
            continue  # GET-able, predictable, and explained with a 409 naming the missing rows
    router = APIRouter(
        prefix="/predict", tags=["predict"], dependencies=[Depends(get_current_user)], responses=documented(401, 429)
    )

    # Sync: an explanation runs the model on thousands of masked rows, so it runs in the thread pool.
    @router.post("/explain", responses=documented(404, 409, 413))
    def explain(
        body: Annotated[schemas.single, Body(openapi_examples=schemas.single_examples)], registry: RegistryDep
    ) -> ExplainResponse:
        """The prediction for one record, as /predict answers it, and each column's Shapley value for the
        probability of the predicted class."""
        model = registry.default_for(body.dataset) if body.model is None else registry.models.get(body.model)
        if model is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown model '{body.model}'")
        if model.dataset != body.dataset:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                [{"loc": ["body", "model"], "msg": f"model '{model.id}' serves '{model.dataset}' records, not '{body.dataset}'", "type": "model_dataset_mismatch"}],
            )
        if model.id not in explainers:
            raise HTTPException(status.HTTP_409_CONFLICT, f"model '{model.id}' has no background rows in its metadata, so it cannot explain")
        explainer = explainers[model.id]
        explained = explainer.explain(body.record.model_dump())
        return ExplainResponse(
            model=model.id,
            prediction=model.predict([body.record])[0],
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
