"""Bodies shared by several endpoints."""

from pydantic import BaseModel, Field


class Message(BaseModel):
    detail: str


def documented(*statuses: int) -> dict[int | str, dict]:
    """OpenAPI entries for the plain `{"detail": ...}` error answers an endpoint may give."""
    return {status: {"model": Message} for status in statuses}


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="where: 'body' or 'query', then the path to the field at fault")
    msg: str
    type: str


class ValidationErrors(BaseModel):
    """A 422: each problem with the request, located (service/errors.py)."""

    detail: list[FieldError]


UNPROCESSABLE = {422: {"model": ValidationErrors}}
