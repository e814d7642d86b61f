"""Single and batch predictions. The body types are generated from the metadata at start-up,
so this router is built by a function."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError

from inference import Predictions
from inference.answers import ENCODER
from service.codecs import (
    ARROW_MEDIA_TYPE,
    CSV_MEDIA_TYPE,
    BodyError,
    decode_arrow,
    decode_csv,
    encode_arrow,
)
from service.deps import CurrentUser, get_current_user
from service.json_columns import JsonColumns
from service.middleware import json_shape_problem, media_type_of
from service.predicting import predict_observed
from service.registry import Registry, ServedModel
from service.schemas.common import UNPROCESSABLE, documented
from service.schemas.prediction import MODEL_ID_MAX_LENGTH, BatchPredictResponse, PredictionSchemas, PredictResponse

JSON_MEDIA_TYPE = "application/json"
BATCH_PATH = "/predict/batch"
DECODERS = {CSV_MEDIA_TYPE: decode_csv, ARROW_MEDIA_TYPE: decode_arrow}


class SinglePredictor:
    """One record's answer, in two steps so that a caller can put its own checks between them: the /predict route,
    and the fast path that answers the same requests without FastAPI's routing (service/fastpath.py)."""

    def __init__(self, schemas: PredictionSchemas, registry: Registry, json_columns: JsonColumns) -> None:
        self.adapter = TypeAdapter(schemas.single)
        self.registry = registry
        self.json_columns = json_columns

    def parse(self, body: bytes) -> tuple[ServedModel, dict[str, tuple]]:
        """The chosen model and the record's columns (the model's and the flow endpoints); raises
        RequestValidationError, HTTPException or UnknownModelError. A clean body is read by msgspec, any other
        validated by pydantic, which names its faults."""
        clean = self.json_columns.single(body)
        if clean is not None:
            dataset, model_id, columns = clean
            return _choose_model(self.registry, dataset, model_id), columns
        request_body = _validate_json(self.adapter, body)
        model = _choose_model(self.registry, request_body.dataset, request_body.model)
        return model, self.json_columns.record_columns(request_body.dataset, request_body.record)

    def answer(self, request: Request, user_id: int, model: ServedModel, columns: dict[str, tuple]) -> bytes:
        """The answer's JSON text."""
        predictions = predict_observed(request, user_id, model.model, columns, 1)
        return ENCODER.encode({"model": model.info.id, "prediction": predictions.answer_structs()[0]})


@dataclass(frozen=True)
class BatchInput:
    """A batch body read and checked: its model, columns (name -> `rows` values), body format, and the validated
    records of a JSON body that pydantic read (the alerts' endpoints then)."""

    model: ServedModel
    columns: Mapping[str, Any]
    rows: int
    body_format: str
    records: Sequence[Any] | None = None


class BatchPredictor:
    """A batch's answer in two steps, run in the thread pool by the /predict/batch route and by the fast path that
    answers the same requests without FastAPI's routing (service/fastpath.py), which counts the request between them."""

    def __init__(
        self, schemas: PredictionSchemas, registry: Registry, json_columns: JsonColumns, limit: int, max_members: int
    ) -> None:
        """`max_members`: the most members a JSON body's objects may have before pydantic judges it (json_shape_problem)."""
        self.adapter = TypeAdapter(schemas.batch)
        self.registry, self.json_columns, self.limit, self.max_members = registry, json_columns, limit, max_members

    def parse(self, media_type: str, body: bytes, dataset: str | None, model_id: str | None) -> BatchInput:
        """Raises RequestValidationError, HTTPException or UnknownModelError. `dataset` and `model_id` come from the
        query string, for CSV and Arrow bodies only."""
        if media_type == JSON_MEDIA_TYPE:
            return self._parse_json(body)
        decode = DECODERS.get(media_type)
        if decode is None:
            raise HTTPException(
                status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                f"content type '{media_type[:100]}' is not accepted: "
                f"send {JSON_MEDIA_TYPE}, {CSV_MEDIA_TYPE} or {ARROW_MEDIA_TYPE}",
            )
        rules = self.json_columns.rules
        if dataset not in rules:
            known = ", ".join(rules)
            problem = "is required" if dataset is None else f"'{dataset[:100]}' is not one of: {known}"
            raise RequestValidationError([{"loc": ["query", "dataset"], "msg": f"dataset {problem}", "type": "dataset"}])
        model = _choose_model(self.registry, dataset, model_id, location="query")
        try:
            columns, rows = decode(body, rules[dataset], self.limit)
        except BodyError as exc:
            raise RequestValidationError(exc.errors) from None
        return BatchInput(model, columns, rows, "csv" if decode is decode_csv else "arrow")

    def _parse_json(self, body: bytes) -> BatchInput:
        clean = self.json_columns.batch(body)
        if clean is not None:
            dataset, model_id, columns, rows = clean
            return BatchInput(_choose_model(self.registry, dataset, model_id), columns, rows, "json")
        # Refused or unusual: pydantic judges it and names every fault, once the body's shape is known not to cost
        # far more to report on than to send.
        if error := json_shape_problem(body, self.max_members):
            raise RequestValidationError([error])
        batch = _validate_json(self.adapter, body)
        model = _choose_model(self.registry, batch.dataset, batch.model)
        return BatchInput(model, model.columns(batch.records), len(batch.records), "json", batch.records)

    def answer(self, request: Request, user_id: int, batch: BatchInput) -> Response:
        model = batch.model
        predictions = predict_observed(request, user_id, model.model, batch.columns, batch.rows, batch.body_format, batch.records)
        return _batch_answer(request, model, predictions)

    def respond(
        self, request: Request, user_id: int, media_type: str, body: bytes, dataset: str | None, model_id: str | None
    ) -> Response:
        return self.answer(request, user_id, self.parse(media_type, body, dataset, model_id))


def build_router(schemas: PredictionSchemas, batch_limit: int, single: SinglePredictor, batch: BatchPredictor) -> APIRouter:
    router = APIRouter(
        prefix="/predict",
        tags=["predict"],
        dependencies=[Depends(get_current_user)],
        responses=documented(401, 404, 413, 429),
    )

    # One record takes tens of microseconds, less than a hand-off to FastAPI's thread pool, so it runs on the
    # event loop. Its body is read straight from the bytes.
    @router.post(
        "",
        response_model=PredictResponse,
        responses=documented(415) | UNPROCESSABLE,
        openapi_extra=_json_request_body(schemas.single_models, schemas.single_examples),
    )
    async def predict(request: Request, user: CurrentUser) -> Response:
        _require_json(request)
        model, columns = single.parse(await request.body())
        return Response(single.answer(request, user.id, model, columns), media_type=JSON_MEDIA_TYPE)

    # The body is read here rather than by FastAPI, which knows JSON only: CSV and Arrow bodies are decoded
    # by column, and so is a clean JSON batch (service/json_columns.py); the middleware has bounded its size, and
    # leaves its shape to this route, which checks it only before pydantic judges it. Decoding and predicting
    # run in the thread pool, so a large batch never blocks the event loop.
    @router.post(
        "/batch",
        response_model=BatchPredictResponse,
        responses=documented(413, 415) | UNPROCESSABLE,
        openapi_extra=batch_request_body(schemas, batch_limit),
    )
    async def predict_batch(
        request: Request,
        user: CurrentUser,
        dataset: Annotated[str | None, Query(description="CSV and Arrow bodies only: the records' dataset")] = None,
        model: Annotated[
            str | None, Query(max_length=MODEL_ID_MAX_LENGTH, description="CSV and Arrow bodies only: a model id from /models")
        ] = None,
    ) -> Response:
        media_type = media_type_of(request.headers.get("content-type"))
        body = await request.body()
        return await run_in_threadpool(batch.respond, request, user.id, media_type, body, dataset, model)

    return router


def _require_json(request: Request) -> None:
    media_type = media_type_of(request.headers.get("content-type"))
    if media_type != JSON_MEDIA_TYPE:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, f"content type '{media_type[:100]}' is not accepted: send {JSON_MEDIA_TYPE}"
        )


def _validate_json(adapter: TypeAdapter, body: bytes) -> Any:
    """The body parsed and validated in one pass by pydantic-core; errors located as FastAPI locates them.

    Text pydantic-core's parser refuses (malformed, or nested deeper than its limit of 200, which Python's
    json module and the body middleware allow) is parsed again by the json module, which either reads it
    (and the nested value is then refused at its field) or says where it is malformed."""
    try:
        return adapter.validate_json(body)
    except ValidationError as exc:
        if exc.errors()[0]["type"] != "json_invalid":
            raise _located(exc) from None
    try:
        parsed = json.loads(body)
    except ValueError as exc:
        raise RequestValidationError([{"loc": ["body"], "msg": f"JSON decode error: {exc}", "type": "json_invalid"}]) from None
    try:
        return adapter.validate_python(parsed)
    except ValidationError as exc:
        raise _located(exc) from None


def _located(exc: ValidationError) -> RequestValidationError:
    return RequestValidationError(
        [
            {"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
    )


def _batch_answer(request: Request, model: ServedModel, predictions: Predictions) -> Response:
    """JSON, or an Arrow IPC stream when the client accepts one (one row per record, no per-record objects to build)."""
    if ARROW_MEDIA_TYPE in request.headers.get("accept", ""):
        return Response(encode_arrow(model.model, predictions), media_type=ARROW_MEDIA_TYPE)
    # Encoded once by msgspec; FastAPI sends a Response as it is, without re-validating every prediction against
    # the response model (which still documents the answer).
    answer = ENCODER.encode({"model": model.info.id, "predictions": predictions.answer_structs()})
    return Response(answer, media_type=JSON_MEDIA_TYPE)


def _choose_model(registry: Registry, dataset: str, model_id: str | None, location: str = "body") -> ServedModel:
    if model_id is None:
        return registry.default_for(dataset)
    model = registry.get(model_id)
    if model.info.dataset != dataset:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                {
                    "loc": [location, "model"],
                    "msg": f"model '{model_id}' serves '{model.info.dataset}' records, not '{dataset}'",
                    "type": "model_dataset_mismatch",
                }
            ],
        )
    return model


def _json_request_body(models: list, examples: dict) -> dict:
    """The OpenAPI of a JSON body the route reads itself: one of the datasets' request types."""
    schema = {
        "oneOf": [{"$ref": f"#/components/schemas/{m.__name__}"} for m in models],
        "discriminator": {"propertyName": "dataset"},
    }
    return {"requestBody": {"required": True, "content": {JSON_MEDIA_TYPE: {"schema": schema, "examples": examples}}}}


def batch_request_body(schemas: PredictionSchemas, batch_limit: int) -> dict:
    """The OpenAPI of /predict/batch's three body formats (the route reads the body itself)."""
    columnar = (
        f"One row per record, 1 to {batch_limit} rows, one column per field of the dataset's record type (see the "
        "`...Record` schemas; ignored columns may be left out); `dataset` (and optionally `model`) go in the query string. "
        "Answers are as for JSON, in row order; a bad value is a 422 naming its row (counted from 0) and column."
    )
    body = _json_request_body(schemas.batch_models, schemas.batch_examples)
    body["requestBody"]["content"] |= {
        CSV_MEDIA_TYPE: {
            "schema": {"type": "string"},
            "description": f"CSV with a header row of column names. {columnar}",
        },
        ARROW_MEDIA_TYPE: {
            "schema": {"type": "string", "format": "binary"},
            "description": "An Apache Arrow IPC stream, one field per column (integers or floats for numeric "
            f"features, strings or dictionary-encoded strings for categorical ones). {columnar}",
        },
    }
    return body
