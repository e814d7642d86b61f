"""Pure ASGI middleware: request ids with a leak-free 500, request body limits, and security headers."""

import json
import logging
import re
import secrets
import time
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.contextvars import bind_contextvars

from service.bookkeeping import Bookkeeping
from service.core.logging import access_log
from service.metrics import UNMATCHED_ROUTE, Metrics

log = logging.getLogger(__name__)


class RequestIdMiddleware:
    """Tags every response with `X-Request-ID` (the caller's when it is sane, else a new one) and reports
    each request once it is answered: one JSON access-log line (id, method, route, status, latency, and the
    user and model when the route set them in `request.state`) and the request metrics.

    An unhandled error is logged under that id (its type, not its message or traceback, which may hold
    data: `log_tracebacks` adds the traceback for debugging) and answered with a generic 500 that carries
    the id and nothing else. The request's path is logged, its query string and body never."""

    def __init__(
        self,
        app: ASGIApp,
        log_tracebacks: bool = False,
        metrics: Metrics | None = None,
        bookkeeping: Bookkeeping | None = None,
    ) -> None:
        self.app = app
        self.log_tracebacks = log_tracebacks
        self.metrics = metrics
        self.bookkeeping = bookkeeping or Bookkeeping()
        self.access_log = access_log()  # read here, after `python -m service` has configured logging

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        request_id = _caller_request_id(scope["headers"]) or secrets.token_hex(16)  # uuid4().hex's form, a fifth of its cost
        bind_contextvars(request_id=request_id)
        scope.setdefault("state", {})
        status, started, reported = 500, False, False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started, reported
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            elif message["type"] == "http.response.body" and not message.get("more_body", False) and not reported:
                # Before the last bytes go out: a client that reads its answer and then asks this worker's /metrics
                # finds it counted (a scrape makes the pending bookkeeping first).
                reported = True
                self._report(scope, request_id, status, time.perf_counter() - began)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            log.error(
                "unhandled %s, request_id=%s %s %s",
                type(exc).__name__,
                request_id,
                scope["method"],
                scope["path"],
                exc_info=exc if self.log_tracebacks else None,
            )
            if not started:  # else too late for a 500: the server closes the connection, and logs no traceback
                body = {"detail": "internal server error", "request_id": request_id}
                await JSONResponse(body, status_code=500, headers={"x-request-id": request_id})(scope, receive, send)
        finally:
            if not reported:  # no answer, or the generic 500 sent above
                self._report(scope, request_id, status, time.perf_counter() - began)

    def _report(self, scope: Scope, request_id: str, status: int, seconds: float) -> None:
        """The request's access-log line and metrics, both written with other requests' (in blocks: see
        service/core/batches.py)."""
        route = scope.get("route")
        template = getattr(route, "path", UNMATCHED_ROUTE) if route is not None else UNMATCHED_ROUTE
        state = scope["state"]
        fields = {
            "request_id": request_id,
            "method": scope["method"],
            "path": scope["path"],
            "route": template,
            "status": status,
            "latency_ms": round(seconds * 1e3, 3),
        }
        for name in REPORTED_STATE:
            if name in state:
                fields[name] = state[name]
        if self.metrics is not None:
            self.bookkeeping.later(self.metrics.observe_request, scope["method"], template, status, seconds)
        self.access_log.write(time.time(), fields)


# What routes may put in `request.state` for the access log: identifiers and counts, never content.
REPORTED_STATE = ("user_id", "model", "records")
_SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,128}")


def _caller_request_id(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The caller's X-Request-ID when it is 1 to 128 characters of [A-Za-z0-9._-]: safe in a log line and a header."""
    for name, value in headers:
        if name == b"x-request-id":
            return value.decode() if _SANE_REQUEST_ID.fullmatch(value) else None
    return None


class BodySizeLimitMiddleware:
    """Refuses bodies over `max_bytes` with 413 before they are parsed: at once when Content-Length
    says so, else as soon as the bytes read exceed it (chunked bodies have no Content-Length).

    A JSON body is also refused (422) when its shape would cost far more to validate than to send:
    pydantic reports every unknown member of an object separately (300,000 of them fit in 4 MB and
    take seconds), so an object may have at most `max_json_members`; and nesting deeper than the C
    json parser's recursion limit is answered with its own error instead of FastAPI's generic 400.
    Checking costs one parse by the C json module, calling Python once per object.

    Starlette's own RequestBodyLimitMiddleware answers in plain text on some paths and does not say the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, max_json_members: int, checked_by_route: tuple[str, ...] = ()) -> None:
        """`checked_by_route`: paths whose route checks the shape of its JSON bodies itself (when it needs to)."""
        self.app = app
        self.max_bytes = max_bytes
        self.max_json_members = max_json_members
        self.checked_by_route = checked_by_route
        self.detail = f"request body larger than the limit of {max_bytes} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await JSONResponse({"detail": self.detail}, status_code=413)(scope, receive, send)
            return
        checked_by_route = scope["path"].removeprefix(scope.get("root_path", "")) in self.checked_by_route
        if _may_be_json(headers.get("content-type")) and scope["method"] in ("POST", "PUT", "PATCH") and not checked_by_route:
            await self._check_json(scope, receive, send, headers.get(BINARY_TENSOR_HEADER, ""))
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                # An HTTPException passes through FastAPI's body parsing and is answered as JSON.
                raise HTTPException(status_code=413, detail=self.detail)
            return message

        await self.app(scope, counting_receive, send)

    async def _check_json(self, scope: Scope, receive: Receive, send: Send, json_length: str) -> None:
        """Reads the whole (bounded) body, checks its shape, then hands the same bytes to the app. `json_length`: the
        Open Inference Protocol's binary tensor extension says the JSON text is the body's first that many bytes
        (binary data follows; Triton's client sends such bodies without a content type); a value that is no such
        count is left for the route to refuse."""
        body = await read_body(receive, self.max_bytes)
        if body is None:  # the client went away
            return
        if len(body) > self.max_bytes:
            await JSONResponse({"detail": self.detail}, status_code=413)(scope, receive, send)
            return
        text = body[: int(json_length)] if json_length.isdigit() and int(json_length) <= len(body) else body
        if error := json_shape_problem(text, self.max_json_members):
            await JSONResponse({"detail": [error]}, status_code=422)(scope, receive, send)
            return
        await self.app(scope, replaying(body, receive), send)


async def read_body(receive: Receive, max_bytes: int) -> bytes | None:
    """The whole body, or its first chunks once they pass `max_bytes` (the caller refuses it); None when the client
    went away before sending it all."""
    chunks, size, message = [], 0, {"more_body": True}
    while message.get("more_body", False) and size <= max_bytes:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
    return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body already read once, whole, then whatever comes next (a disconnect)."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


# The Open Inference Protocol's binary tensor extension: the length of the JSON text that starts the body.
BINARY_TENSOR_HEADER = "inference-header-content-length"


def media_type_of(content_type: str | None) -> str:
    """The media type of a Content-Type header, lower case, without parameters; JSON when there is none."""
    return (content_type or "application/json").split(";")[0].strip().lower()


def _may_be_json(content_type: str | None) -> bool:
    """As FastAPI decides: JSON media types, and no content type at all."""
    media_type = media_type_of(content_type)
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


class _TooManyMembers(Exception):
    pass


def json_shape_problem(body: bytes, max_members: int) -> dict[str, Any] | None:
    """The error (as a 422 lists it) when the body's shape is refused; None also for malformed JSON, which
    FastAPI then reports where it is wrong.

    Most bodies (a single record) are cleared by byte counts alone: an object has no more members than the
    body has colons, and nests no deeper than it has brackets. Only bodies over those bounds are parsed,
    with a hook that sees each object once it is built (cheaper than one that is given its members)."""
    try:
        body.decode()
    except UnicodeDecodeError:
        return _body_error("json_invalid", "the body is not JSON text (UTF-8)")
    if body.count(b":") <= max_members and body.count(b"[") + body.count(b"{") < SAFE_JSON_DEPTH:
        return None

    def check_members(obj: dict) -> dict:
        if len(obj) > max_members:
            raise _TooManyMembers(len(obj))
        return obj

    try:
        json.loads(body, object_hook=check_members)
    except RecursionError:
        return _body_error("json_too_deep", "JSON nested too deeply")
    except _TooManyMembers as exc:
        return _body_error(
            "json_too_many_members", f"a JSON object has {exc.args[0]} members; at most {max_members} are accepted"
        )
    except ValueError:  # malformed JSON: FastAPI reports where
        return None
    return None


def _body_error(kind: str, message: str) -> dict[str, Any]:
    return {"loc": ["body"], "msg": message, "type": kind}


# Well below the C json parser's recursion limit (Python's, 1,000 frames less those in use).
SAFE_JSON_DEPTH = 200


# Strict for everything the API serves, including the web console's static files. Swagger UI and
# ReDoc load from a CDN with an inline script, so the docs pages (off by default in production) only
# get `frame-ancestors`.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_CONTENT_SECURITY_POLICY = "frame-ancestors 'none'"
DOCS_PATHS = ("/docs", "/redoc")
STATIC_PATH = "/static/"


class SecurityHeadersMiddleware:
    """Adds browser security headers to every response that does not set them itself; API answers
    (everything but static files) are not to be cached, since they carry tokens and predictions."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        extra = _API_HEADERS
        if path.startswith(DOCS_PATHS):
            extra = _DOCS_HEADERS
        elif path.startswith(STATIC_PATH):
            extra = _STATIC_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                present = {name.lower() for name, _ in headers}
                message["headers"] = [*headers, *((k, v) for k, v in extra if k not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _security_headers(policy: str, cache: bool) -> tuple[tuple[bytes, bytes], ...]:
    headers = {
        b"x-content-type-options": b"nosniff",
        b"x-frame-options": b"DENY",
        b"referrer-policy": b"no-referrer",
        b"content-security-policy": policy.encode(),
    }
    return tuple(headers.items()) if cache else (*headers.items(), (b"cache-control", b"no-store"))


_API_HEADERS = _security_headers(CONTENT_SECURITY_POLICY, cache=False)
_STATIC_HEADERS = _security_headers(CONTENT_SECURITY_POLICY, cache=True)
_DOCS_HEADERS = _security_headers(DOCS_CONTENT_SECURITY_POLICY, cache=False)
