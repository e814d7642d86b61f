"""`python -m service` (or `nids-service`): check the settings and artifacts, then serve with uvicorn.

Logs are JSON lines on stderr (service/core/logging.py), uvicorn's access log replaced by ours. With several
workers, their metrics meet in a PROMETHEUS_MULTIPROC_DIR made here (unless one is given) and removed at exit,
so /metrics of any worker, or NIDS_METRICS_PORT served by this process, reports all of them.
"""

import os
import shutil
import sys
import tempfile

import uvicorn
from prometheus_client import start_http_server
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from inference import ArtifactError
from service.core.config import Settings
from service.core.db import migrate
from service.core.logging import configure_logging
from service.main import create_app
from service.metrics import MULTIPROC_ENV, multiprocess_dir, shared_registry


def main() -> None:
    try:
        settings = Settings()
    except ValidationError as exc:
        sys.exit(f"nids-service: invalid settings: {exc.errors()[0]['msg']}")
    configure_logging(settings.log_level)
    try:
        app = create_app(settings)
    except ArtifactError as exc:
        sys.exit(f"nids-service: {exc}")
    try:  # here, so an unreachable database is one line, not the traceback a failed ASGI start-up logs
        migrate(app.state.engine)
    except SQLAlchemyError as exc:
        sys.exit(f"nids-service: cannot prepare the database: {str(exc).splitlines()[0]}")
    # uvicorn's own logging set-up would replace ours; each request is logged by our middleware instead.
    options = {"host": settings.host, "port": settings.port, "log_config": None, "access_log": False}
    if settings.workers == 1:
        if settings.metrics_enabled and settings.metrics_port:
            start_http_server(settings.metrics_port, settings.host, registry=app.state.metrics.exposition_registry())
        uvicorn.run(app, **options)
        return
    # Each worker builds its own app from the environment; all must sign tokens with the same key.
    os.environ["NIDS_JWT_SECRET"] = settings.signing_key
    made_dir = None
    if settings.metrics_enabled and multiprocess_dir() is None:
        made_dir = os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="nids-metrics-")
    try:
        if settings.metrics_enabled and settings.metrics_port:
            start_http_server(settings.metrics_port, settings.host, registry=shared_registry())
        uvicorn.run("service.main:app", workers=settings.workers, **options)
    finally:
        if made_dir:
            shutil.rmtree(made_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
