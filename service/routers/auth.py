"""Registration, login (OAuth2 password flow), logout and the current user."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service.accounts import revoke_tokens
from service.core.security import create_access_token, hash_password, verify_password
from service.deps import AccountsDep, CurrentUser, SessionDep, SettingsDep
from service.models import User
from service.ratelimit import RateLimitsDep, client_address
from service.schemas.common import documented
from service.schemas.token import Token
from service.schemas.user import UserCreate, UserPublic, is_valid_username, normalize_username

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/register", status_code=status.HTTP_201_CREATED, responses=documented(409, 413, 429))
def register(body: UserCreate, request: Request, session: SessionDep, rate_limits: RateLimitsDep) -> UserPublic:
    rate_limits.count_registration(client_address(request))  # before hashing: a refused attempt costs nothing
    user = User(username=body.username, password_hash=hash_password(body.password.get_secret_value()))
    session.add(user)
    try:
        session.commit()  # the unique constraint decides, so concurrent registrations cannot both win
    except IntegrityError:
        session.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, "username already taken") from None
    return UserPublic.model_validate(user)


@router.post("/token", responses=documented(401, 413, 429))
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    rate_limits: RateLimitsDep,
) -> Token:
    username = normalize_username(form.username)
    # A name outside the policy cannot exist: such names share one rate-limit key and are never queried,
    # which also keeps e.g. NUL bytes away from PostgreSQL.
    valid = is_valid_username(username)
    limit_key, client = username if valid else "", client_address(request)
    rate_limits.check_login(limit_key, client)  # before any hashing: a locked-out guess costs nothing
    user = session.scalar(select(User).where(User.username == username)) if valid else None
    matches, new_hash = verify_password(form.password, user.password_hash if user else None)
    # One answer whether the user does not exist, the password is wrong, or the account is disabled:
    # a disabled account's password cannot be confirmed by guessing.
    if not (matches and user.is_active):
        rate_limits.failed_login(limit_key, client)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "incorrect username or password", headers={"WWW-Authenticate": "Bearer"}
        )
    if new_hash:
        user.password_hash = new_hash
        session.commit()
    token = create_access_token(user.id, user.token_generation, settings)
    return Token(access_token=token, expires_in=settings.access_token_minutes * 60)


@router.get("/me", responses=documented(401, 429))
def me(user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(user)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=documented(401, 429))
def logout(user: CurrentUser, session: SessionDep, accounts: AccountsDep) -> None:
    """Revokes every token of the caller, on every device: log in again for a new one."""
    revoke_tokens(session, user.id)
    accounts.forget(user.id)  # this worker refuses the old tokens from now on; the others within the cache's time
