"""Open Inference Protocol v2, the REST data plane of KServe and Triton, so their clients and tooling work as they
are. Health and server metadata are open, like /healthz; model endpoints take the same bearer token as the rest
of the API. Errors answer `{"error": message}` with a 4xx status, as the protocol says."""

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse
from pydantic_core import to_json
from starlette.exceptions import HTTPException as StarletteHTTPException

from inference import Model, UnknownModelError
from service.core.config import Settings
from service.deps import CurrentUser, RegistryDep, get_current_user
from service.oip import (
    HEADER_LENGTH,
    ColumnRules,
    OipError,
    check_outputs,
    model_metadata,
    parse_request,
    prediction_tensors,
    read_columns,
    response,
)
from service.predicting import predict_observed
from service.registry import Registry
from service.routers.health import database_reachable
from service.schemas.oip import (
    ErrorResponse,
    InferenceRequest,
    InferenceResponse,
    LiveResponse,
    ModelMetadataResponse,
    ModelReadyResponse,
    ReadyResponse,
    ServerMetadataResponse,
)

PREFIX = "/v2"
ERRORS = {status: {"model": ErrorResponse} for status in (400, 401, 404, 413, 429)}


def build_router(registry: Registry, settings: Settings) -> APIRouter:
    rules = {
        model_id: ColumnRules.of(served.model.meta, registry.records[served.model.dataset])
        for model_id, served in registry.models.items()
    }
    router = APIRouter(prefix=PREFIX, tags=["open inference protocol"])
    # Model routes take a token. They are on this router rather than a nested one: a nested router's routes report
    # their template without the outer prefix, so /v2/models/{model_id} would be counted and logged as the
    # catalogue's /models/{model_id}.
    model_route = {"dependencies": [Depends(get_current_user)], "responses": ERRORS}

    @router.get("")
    async def server_metadata(request: Request) -> ServerMetadataResponse:
        return ServerMetadataResponse(name="nids", version=request.app.version, extensions=["binary_tensor_data"])

    @router.get("/health/live")
    async def live() -> LiveResponse:
        return LiveResponse(live=True)

    @router.get("/health/ready", responses={503: {"model": ReadyResponse}})
    def ready(request: Request) -> JSONResponse:
        """Ready when the database answers: models are loaded before the server starts, and the token check needs it."""
        ok = database_reachable(request.app.state.engine)
        return JSONResponse(ReadyResponse(ready=ok).model_dump(), status_code=200 if ok else 503)

    @router.get("/models/{model_id}", **model_route)
    async def get_model_metadata(model_id: str, registry: RegistryDep) -> ModelMetadataResponse:
        return model_metadata(_served(registry, model_id).meta)

    @router.get("/models/{model_id}/ready", **model_route)
    async def get_model_ready(model_id: str, registry: RegistryDep) -> ModelReadyResponse:
        return ModelReadyResponse(name=_served(registry, model_id).id, ready=True)

    @router.post(
        "/models/{model_id}/infer",
        **model_route,
        response_model=InferenceResponse,
        openapi_extra={"requestBody": {"content": {"application/json": {"schema": InferenceRequest.model_json_schema()}}}},
    )
    async def model_infer(model_id: str, request: Request, registry: RegistryDep, user: CurrentUser) -> Response:
        """One input per dataset column, each of shape [n] (BYTES for categorical columns, INT64 or FP64 for
        numeric ones as the model's metadata says), and optionally the flow's endpoint columns (`optional_inputs`
        of the model's metadata) for the alerts; outputs `label`, `is_attack`, `confidence` and
        `probabilities` [n, classes] (and `novelty_score`, `unknown` when the model has a novelty detector).
        Counted in the metrics, the drift window and alerts as /predict/batch is."""
        model = _served(registry, model_id)
        body = await request.body()
        answer, tail = await run_in_threadpool(
            _infer,
            model,
            body,
            request.headers.get(HEADER_LENGTH),
            rules[model.id],
            settings.batch_limit,
            request,
            user.id,
        )
        if not tail:
            return Response(to_json(answer), media_type="application/json")
        head = to_json(answer)
        return Response(
            head + tail,
            media_type="application/octet-stream",
            headers={HEADER_LENGTH: str(len(head))},
        )

    return router


def _infer(
    model: Model,
    body: bytes,
    header_length: str | None,
    rules: ColumnRules,
    max_rows: int,
    request: Request,
    user_id: int,
):
    parsed, binary = parse_request(body, header_length)
    check_outputs(parsed, model.meta)
    columns, rows = read_columns(parsed, binary, rules, max_rows)
    predictions = predict_observed(request, user_id, model, columns, rows, batch_format="oip")
    return response(model.id, parsed, prediction_tensors(predictions))


def _served(registry: Registry, model_id: str) -> Model:
    try:
        return registry.get(model_id).model
    except UnknownModelError as exc:
        raise OipError(str(exc), 404) from None


def add_error_handlers(app: FastAPI) -> None:
    """`{"error": ...}` for every error under /v2, the 401 of a missing token and a 404 of an unknown path included."""

    async def oip_error(_request: Request, exc: OipError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=exc.status)

    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path == PREFIX or request.url.path.startswith(PREFIX + "/"):
            detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
            return JSONResponse({"error": detail}, status_code=exc.status_code, headers=exc.headers)
        return await http_exception_handler(request, exc)

    app.add_exception_handler(OipError, oip_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
