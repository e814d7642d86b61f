"""FastAPI dependencies: settings, database session, model registry and the authenticated user."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from service.core.config import Settings
from service.core.security import token_subject
from service.models import User
from service.ratelimit import RateLimitsDep
from service.registry import Registry

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")


# async: a plain attribute read needs no trip through the thread pool that sync dependencies take.
async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_registry(request: Request) -> Registry:
    return request.app.state.registry


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
SessionDep = Annotated[Session, Depends(get_session)]


def get_current_user(
    token: Annotated[str, Depends(oauth2_scheme)], session: SessionDep, settings: SettingsDep, rate_limits: RateLimitsDep
) -> User:
    subject = token_subject(token, settings)
    user = session.get(User, int(subject)) if subject and subject.isdigit() else None
    if user is None:  # also when the account was deleted after the token was issued
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or expired token", headers={"WWW-Authenticate": "Bearer"})
    rate_limits.count_request(user.id)  # per user rather than per token: minting new tokens does not reset it
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
