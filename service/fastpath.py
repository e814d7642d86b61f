"""POST /predict and /predict/batch without FastAPI's routing and dependency solving, which cost more than
validating, predicting and answering one record together, and a tenth of a 1,000-record batch's time.

The fast path answers only what it can answer exactly as the route would: a body of a media type the route takes
within the size limits, a bearer token this worker has verified before whose account it holds, cached and allowed,
and a body that validates. It makes the route's checks in the route's code (token, account, rate limit,
validation, model choice) and answers with the route's code (`SinglePredictor`, `BatchPredictor`). Every other
request, every request that would be refused included, goes on to the app unchanged, with the body it read:
errors are always the app's own.

It sits inside the request-id, security-header and CORS middleware, so its answers are logged, counted, and
carry the same headers.
"""

from fastapi import HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
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
from service.routers.predict import BATCH_PATH, DECODERS, JSON_MEDIA_TYPE, BatchPredictor, SinglePredictor
from service.schemas.prediction import MODEL_ID_MAX_LENGTH

PATH = "/predict"
_REFUSED = (RequestValidationError, HTTPException, UnknownModelError)
_MEDIA_TYPES = {PATH: {JSON_MEDIA_TYPE}, BATCH_PATH: {JSON_MEDIA_TYPE, *DECODERS}}


class PredictFastPath:
    def __init__(
        self,
        app: ASGIApp,
        single: SinglePredictor,
        batch: BatchPredictor,
        routes: dict[str, BaseRoute],
        max_json_members: int,
    ) -> None:
        self.app = app
        self.single, self.batch, self.routes = single, batch, routes
        self.max_json_members = max_json_members

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = _predict_path(scope)
        if path is None:
            await self.app(scope, receive, send)
            return
        state = scope["app"].state  # read per request, as the dependencies do (tests replace parts of it)
        settings: Settings = state.settings
        headers = dict(scope["headers"])
        account = _admitted_account(headers, settings, state.accounts)
        declared = headers.get(b"content-length", b"")
        media_type = media_type_of(headers.get(b"content-type", b"").decode("latin-1") or None)
        if (
            account is None
            or len(headers) != len(scope["headers"])  # a repeated header: the app decides which counts
            or not declared.isdigit()
            or int(declared) > settings.max_body_bytes
            or media_type not in _MEDIA_TYPES[path]
        ):
            await self.app(scope, receive, send)
            return
        body = await read_body(receive, settings.max_body_bytes)
        if body is None:  # the client went away
            return
        if len(body) <= settings.max_body_bytes:
            scope["route"] = self.routes[path]  # for the access log and metrics, as the router would have set it
            request = Request(scope, receive)
            if path == BATCH_PATH:
                response = await run_in_threadpool(self._batch, request, account, media_type, body)
                if response is not None:
                    await response(scope, receive, send)
                    return
            elif (answer := self._single(request, account, body)) is not None:
                # The headers a FastAPI Response of this JSON would have, without building one.
                headers = [(b"content-length", str(len(answer)).encode()), (b"content-type", JSON_MEDIA_TYPE.encode())]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": answer})
                return
        await self.app(scope, replaying(body, receive), send)

    def _single(self, request: Request, account: Account, body: bytes) -> bytes | None:
        if json_shape_problem(body, self.max_json_members):
            return None
        try:
            model, columns = self.single.parse(body)
            self._count(request, account)
        except _REFUSED:
            return None  # the app refuses it again, with its own answer (a refused rate-limit hit counts nothing)
        return self.single.answer(request, account.id, model, columns)

    def _batch(self, request: Request, account: Account, media_type: str, body: bytes) -> Response | None:
        """Run in the thread pool, as the route runs it: decoding a large batch must not block the event loop."""
        query = request.query_params
        model_id = query.get("model")
        if model_id is not None and len(model_id) > MODEL_ID_MAX_LENGTH:
            return None
        try:
            batch = self.batch.parse(media_type, body, query.get("dataset"), model_id)
            self._count(request, account)
        except _REFUSED:
            return None
        return self.batch.answer(request, account.id, batch)

    @staticmethod
    def _count(request: Request, account: Account) -> None:
        rate_limits: RateLimits = request.app.state.rate_limits
        rate_limits.count_request(account.id)


def _predict_path(scope: Scope) -> str | None:
    """The route's path (without the root path) of a POST this fast path may answer."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    root, path = scope.get("root_path", ""), scope["path"]
    return path[len(root) :] if path.startswith(root) and path[len(root) :] in _MEDIA_TYPES else None


def _admitted_account(headers: dict[bytes, bytes], settings: Settings, accounts: AccountCache) -> Account | None:
    """The account when the bearer token is valid and this worker's cached account admits it: as `get_current_user`
    decides, without its database read (a request that needs one goes to the app)."""
    scheme, token = get_authorization_scheme_param(headers.get(b"authorization", b"").decode("latin-1"))
    claims = verify_token(token, settings) if scheme.lower() == "bearer" and token else None
    if claims is None:
        return None
    known, account = accounts.cached_for(claims)
    return account if known and admits(account, claims) else None
