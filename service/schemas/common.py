"""Bodies shared by several endpoints."""

from pydantic import BaseModel


class Message(BaseModel):
    detail: str


def documented(*statuses: int) -> dict[int | str, dict]:
    """OpenAPI entries for the plain `{"detail": ...}` error answers an endpoint may give."""
    return {status: {"model": Message} for status in statuses}
