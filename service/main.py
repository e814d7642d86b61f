"""The FastAPI application: `uvicorn service.main:app`, or `create_app(settings)` in tests and tools."""

import functools
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from inference import UnknownModelError
from service import fastpath
from service.accounts import AccountCache
from service.alerting import alert_emitter
from service.bookkeeping import Bookkeeping, PendingFirst
from service.codecs import column_rules
from service.core.config import Settings
from service.core.db import create_db_engine, migrate
from service.core.logging import access_log, configure_logging
from service.drift import DriftCollector, DriftMonitors
from service.errors import unknown_model_handler, validation_error_handler
from service.fastpath import PredictFastPath
from service.json_columns import JsonColumns
from service.metrics import Metrics, metrics_endpoint
from service.middleware import BodySizeLimitMiddleware, RequestIdMiddleware, SecurityHeadersMiddleware
from service.ratelimit import RateLimits
from service.registry import load_registry
from service.routers import auth, drift, explain, health, models, predict, v2
from service.schemas.prediction import prediction_schemas
from service.schemas.records import max_json_members
from service.web import router as web

DESCRIPTION = """Network intrusion detection: send network-flow records, get back normal traffic or the attack class.

Register (`POST /auth/register`), get a token (`POST /auth/token`, or **Authorize** above), then call
`/predict` with one record or `/predict/batch` with many. Records use the dataset's own column names.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Loads and checks every model first, so a broken artifact stops start-up, not a later request."""
    settings = settings or Settings()
    registry = load_registry(settings.artifacts_dir, settings.onnx_intra_op_threads, settings.onnx_inter_op_threads)
    schemas = prediction_schemas(registry.records, registry.examples(), settings.batch_limit)
    engine = create_db_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(migrate, engine)
        # What start-up built (models, schemas, routes: some 200,000 objects) lives as long as the app: frozen out of
        # the collector's reach, a full collection walks only what requests made since (before, each one paused the
        # worker for ~100 ms, the longest waits in the served benchmark's tail). Thawed at the end, so an app that
        # goes away (tests, tools) can be collected.
        gc.collect()
        gc.freeze()
        yield
        gc.unfreeze()
        app.state.bookkeeping.flush()
        access_log().flush()
        app.state.drift.close()  # this worker's share of the drift summary leaves with it
        if app.state.alerts is not None:
            await run_in_threadpool(app.state.alerts.close)  # delivers what is queued, within its timeout
        engine.dispose()

    docs = {} if settings.docs_enabled else {"docs_url": None, "redoc_url": None, "openapi_url": None}
    # FastAPI's OpenTelemetry hooks are off: /metrics and the JSON logs are this service's telemetry, and the hooks
    # look for an OpenTelemetry provider on every request, a tenth of what answering a record costs besides the model.
    telemetry = {"tracing": False, "metrics": False, "logs": False}
    app = FastAPI(
        title="NIDS prediction API", version="0.1.0", description=DESCRIPTION, lifespan=lifespan, telemetry=telemetry, **docs
    )
    app.state.settings, app.state.registry, app.state.engine = settings, registry, engine
    app.state.rate_limits = RateLimits.from_settings(settings, engine)
    app.state.accounts = AccountCache(engine, settings.account_cache_seconds)
    app.state.alerts = alert_emitter(settings)
    app.state.drift = DriftMonitors({model_id: served.model.meta for model_id, served in registry.models.items()})
    app.state.bookkeeping = bookkeeping = Bookkeeping()
    metrics = Metrics([PendingFirst(bookkeeping), DriftCollector(app.state.drift)]) if settings.metrics_enabled else None
    app.state.metrics = metrics
    if metrics is not None:
        metrics.set_models((m.info.id, m.info.dataset) for m in registry.models.values())
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(UnknownModelError, unknown_model_handler)
    v2.add_error_handlers(app)
    rules = {dataset: column_rules(record) for dataset, record in registry.records.items()}
    json_columns = JsonColumns(rules, settings.batch_limit)
    single = predict.SinglePredictor(schemas, registry, json_columns)
    json_members = max_json_members(registry.records)
    batch = predict.BatchPredictor(schemas, registry, json_columns, settings.batch_limit, json_members)
    predict_router = predict.build_router(schemas, settings.batch_limit, single, batch)
    routers = [
        health.router,
        auth.router,
        models.router,
        drift.router,
        predict_router,
    ]
    routers += [explain.build_router(schemas, registry), v2.build_router(registry, settings), web.router]
    for router in routers:
        app.include_router(router)
    if app.state.metrics is not None and settings.metrics_port is None:
        # An API route (not a plain Starlette one), so its requests are counted under their own route template.
        app.add_api_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        max_json_members=json_members,
        checked_by_route=(predict.BATCH_PATH,),
    )
    app.add_middleware(
        PredictFastPath,
        single=single,
        batch=batch,
        routes={r.path: r for r in predict_router.routes if r.path in (fastpath.PATH, predict.BATCH_PATH)},
        max_json_members=json_members,
    )
    if settings.cors_origins:  # closed by default: no browser page of another origin may call the API
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(SecurityHeadersMiddleware)
    # Outermost: sees the others' errors, and times and logs every request.
    app.add_middleware(
        RequestIdMiddleware,
        log_tracebacks=settings.log_tracebacks,
        metrics=app.state.metrics,
        bookkeeping=bookkeeping,
    )
    _document_models(app, [*schemas.single_models, *schemas.batch_models])
    app.mount("/static", web.static_files, name="static")
    return app


def _document_models(app: FastAPI, models: list[type[BaseModel]]) -> None:
    """Adds schemas that no route declares as its body (the /predict routes read their own) to the OpenAPI components."""

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            _, definitions = models_json_schema([(m, "validation") for m in models], ref_template="#/components/schemas/{model}")
            schema.setdefault("components", {}).setdefault("schemas", {}).update(definitions["$defs"])
        return app.openapi_schema

    app.openapi = openapi


@functools.cache
def _app_from_environment() -> FastAPI:
    # A uvicorn worker process of `python -m service`: it logs as the main process does.
    settings = Settings()
    configure_logging(settings.log_level)
    return create_app(settings)


def __getattr__(name: str) -> FastAPI:
    # `app` is built on first access, so importing this module (tests, tools) loads nothing.
    if name == "app":
        return _app_from_environment()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
