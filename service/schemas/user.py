"""Users as clients send them (with a password) and as the API returns them (without)."""

import re
import unicodedata
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr

from service.models import USERNAME_MAX_LENGTH

PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH = 8, 128


def normalize_username(value: str) -> str:
    """Look-alike spellings (case, Unicode compatibility forms such as full-width letters) are one username."""
    return unicodedata.normalize("NFKC", value).casefold()


USERNAME_PATTERN = rf"^[a-z0-9][a-z0-9._-]{{2,{USERNAME_MAX_LENGTH - 1}}}$"


def is_valid_username(normalized: str) -> bool:
    return re.fullmatch(USERNAME_PATTERN, normalized) is not None


# The pattern comes first so that the OpenAPI schema states it; the normalisation still runs before it.
Username = Annotated[
    str,
    Field(
        pattern=USERNAME_PATTERN,
        description=f"3 to {USERNAME_MAX_LENGTH} characters: letters, digits, '.', '_' or '-', starting with a letter "
        "or digit. Case-insensitive: stored in lower case after Unicode NFKC normalisation.",
        examples=["analyst-1"],
    ),
    BeforeValidator(lambda v: normalize_username(v) if isinstance(v, str) else v),
]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    password: SecretStr = Field(
        min_length=PASSWORD_MIN_LENGTH,
        max_length=PASSWORD_MAX_LENGTH,
        description=f"{PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters",
    )


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
