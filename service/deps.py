"""FastAPI dependencies: settings, database session, model registry and the authenticated user."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from service.accounts import Account, AccountCache, admits
from service.core.config import Settings
from service.core.security import verify_token
from service.ratelimit import RateLimitsDep
from service.registry import Registry

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")


# async: a plain attribute read needs no trip through the thread pool that sync dependencies take.
async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_registry(request: Request) -> Registry:
    return request.app.state.registry


async def get_accounts(request: Request) -> AccountCache:
    return request.app.state.accounts


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
AccountsDep = Annotated[AccountCache, Depends(get_accounts)]
SessionDep = Annotated[Session, Depends(get_session)]


# async, and no session: most requests are answered from the worker's account cache without leaving the event loop.
async def get_current_user(
    token: Annotated[str, Depends(oauth2_scheme)], settings: SettingsDep, accounts: AccountsDep, rate_limits: RateLimitsDep
) -> Account:
    claims = verify_token(token, settings)
    if claims is None:
        raise _invalid_token()
    known, account = accounts.cached_for(claims)
    if not known:
        account = await run_in_threadpool(accounts.load, claims.user_id)
    if not admits(account, claims):
        raise _invalid_token()
    rate_limits.count_request(account.id)  # per user rather than per token: minting new tokens does not reset it
    return account


def _invalid_token() -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or expired token", headers={"WWW-Authenticate": "Bearer"})


CurrentUser = Annotated[Account, Depends(get_current_user)]
