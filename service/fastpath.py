"""POST /predict without FastAPI's routing and dependency solving, which cost more than validating, predicting and
answering one record together.

The fast path answers only what it can answer exactly as the route would: a JSON body within the size limits, a
bearer token this worker has verified before whose account it holds, cached and allowed, and a body that
validates. It makes the route's checks in the route's code (token, account, rate limit, validation, model
choice) and answers with the route's code (`SinglePredictor`). Every other request, every request that would be
refused included, goes on to the app unchanged, with the body it read: errors are always the app's own.

It sits inside the request-id, security-header and CORS middleware, so its answers are logged, counted, and
carry the same headers.
"""

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security.utils import get_authorization_scheme_param
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from inference import UnknownModelError
from service.accounts import Account, AccountCache, admits
from service.core.config import Settings
from service.core.security import verify_token
from service.middleware import json_shape_problem, media_type_of, read_body, replaying
from service.ratelimit import RateLimits
from service.routers.predict import JSON_MEDIA_TYPE, SinglePredictor

PATH = "/predict"
_REFUSED = (RequestValidationError, HTTPException, UnknownModelError)


class SinglePredictFastPath:
    def __init__(
        self,
        app: ASGIApp,
        single: SinglePredictor,
        route: BaseRoute,
        max_json_members: int,
    ) -> None:
        self.app = app
        self.single, self.route = single, route
        self.max_json_members = max_json_members

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == scope.get("root_path", "") + PATH):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state  # read per request, as the dependencies do (tests replace parts of it)
        settings: Settings = state.settings
        headers = dict(scope["headers"])
        account = _admitted_account(headers, settings, state.accounts)
        declared = headers.get(b"content-length", b"")
        if (
            account is None
            or len(headers) != len(scope["headers"])  # a repeated header: the app decides which counts
            or not declared.isdigit()
            or int(declared) > settings.max_body_bytes
            or media_type_of(headers.get(b"content-type", b"").decode("latin-1") or None) != JSON_MEDIA_TYPE
        ):
            await self.app(scope, receive, send)
            return
        body = await read_body(receive, settings.max_body_bytes)
        if body is None:  # the client went away
            return
        if len(body) <= settings.max_body_bytes and not json_shape_problem(body, self.max_json_members):
            try:
                model, columns = self.single.parse(body)
                rate_limits: RateLimits = state.rate_limits
                rate_limits.count_request(account.id)
            except _REFUSED:
                pass  # the app refuses it again, with its own answer (a refused rate-limit hit counts nothing)
            else:
                scope["route"] = self.route  # for the access log and metrics, as the router would have set it
                answer = self.single.answer(Request(scope, receive), account.id, model, columns)
                # The headers a FastAPI Response of this JSON would have.
                headers = [(b"content-length", str(len(answer)).encode()), (b"content-type", JSON_MEDIA_TYPE.encode())]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": answer})
                return
        await self.app(scope, replaying(body, receive), send)


def _admitted_account(headers: dict[bytes, bytes], settings: Settings, accounts: AccountCache) -> Account | None:
    """The account when the bearer token is valid and this worker's cached account admits it: as `get_current_user`
    decides, without its database read (a request that needs one goes to the app)."""
    scheme, token = get_authorization_scheme_param(headers.get(b"authorization", b"").decode("latin-1"))
    claims = verify_token(token, settings) if scheme.lower() == "bearer" and token else None
    if claims is None:
        return None
    known, account = accounts.cached_for(claims)
    return account if known and admits(account, claims) else None
