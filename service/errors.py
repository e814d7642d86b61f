"""Answers for requests that fail validation or name a model that is not served."""

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from inference import UnknownModelError

# A batch of bad records could otherwise produce tens of thousands of entries.
MAX_REPORTED_ERRORS = 100


async def validation_error_handler(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 naming each field at fault. The submitted values are not echoed back: they may hold a
    password, NaN (which JSON cannot carry) or megabytes."""
    return JSONResponse({"detail": [_describe(error) for error in exc.errors()[:MAX_REPORTED_ERRORS]]}, status_code=422)


def _describe(error: dict) -> dict:
    message = error["msg"]
    if error["type"] == "json_invalid" and "error" in error.get("ctx", {}):
        message = f"{message}: {error['ctx']['error']}"
    return {"loc": list(error["loc"]), "msg": message, "type": error["type"]}


async def unknown_model_handler(_request: Request, exc: UnknownModelError) -> JSONResponse:
    """404 with the plain `{"detail": ...}` answer every other error gives."""
    return JSONResponse({"detail": str(exc)}, status_code=404)
