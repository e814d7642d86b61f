"""`python -m service` (or `nids-service`): check the settings and artifacts, then serve with uvicorn."""

import logging
import os
import sys

import uvicorn
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from inference import ArtifactError
from service.core.config import Settings
from service.core.db import migrate
from service.main import create_app


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    try:
        settings = Settings()
        app = create_app(settings)
    except ValidationError as exc:
        sys.exit(f"nids-service: invalid settings: {exc.errors()[0]['msg']}")
    except ArtifactError as exc:
        sys.exit(f"nids-service: {exc}")
    try:  # here, so an unreachable database is one line, not the traceback a failed ASGI start-up logs
        migrate(app.state.engine)
    except SQLAlchemyError as exc:
        sys.exit(f"nids-service: cannot prepare the database: {str(exc).splitlines()[0]}")
    if settings.workers == 1:
        uvicorn.run(app, host=settings.host, port=settings.port)
        return
    # Each worker builds its own app from the environment; all must sign tokens with the same key.
    os.environ["NIDS_JWT_SECRET"] = settings.signing_key
    uvicorn.run("service.main:app", host=settings.host, port=settings.port, workers=settings.workers)


if __name__ == "__main__":
    main()
