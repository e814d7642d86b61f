"""Pure ASGI middleware: request ids with a leak-free 500, and the request body size limit."""

import logging
import uuid

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)


class RequestIdMiddleware:
    """Tags every response with `X-Request-ID`; an unhandled error is logged under that id and
    answered with a generic 500 that carries the id and nothing else."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error, request_id=%s %s %s", request_id, scope["method"], scope["path"])
            if started:
                raise
            body = {"detail": "internal server error", "request_id": request_id}
            await JSONResponse(body, status_code=500, headers={"x-request-id": request_id})(scope, receive, send)


class BodySizeLimitMiddleware:
    """Refuses bodies over `max_bytes` with 413 before they are parsed: at once when Content-Length
    says so, else as soon as the bytes read exceed it (chunked bodies have no Content-Length).

    Starlette's own RequestBodyLimitMiddleware answers in plain text on some paths and does not say the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.detail = f"request body larger than the limit of {max_bytes} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await JSONResponse({"detail": self.detail}, status_code=413)(scope, receive, send)
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
