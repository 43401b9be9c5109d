"""Request limits that hold for every HTTP route: body size (413) and wall time per request (408).

Both are enforced before the work they protect. `RequestLimits` is an ASGI middleware under every route
(OpenAI, KServe v1/v2, admin): an oversized body is refused from its Content-Length before a byte of it
is read, a chunked one as soon as the bytes read pass the limit, and a body that has not fully arrived
by the deadline (a client trickling bytes to hold a connection) is a 408; the handler never sees it.
After the body, a `Deadline` taken when the request arrived is carried to every wait (tokenizing, the
queue, decoding); when it passes, the request's row is cancelled in its batch.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from grpc_interceptor.exceptions import DeadlineExceeded
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from doc2slm_serving.openai_schema import error_body

OPENAI_PATH = "/openai/"
STATE_KEY = "doc2slm_deadline"  # request.state.doc2slm_deadline: the handlers continue this deadline


class RequestTimedOut(DeadlineExceeded):
    """The request ran past request_timeout_s: HTTP 408, gRPC DEADLINE_EXCEEDED."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(f"the request took longer than {timeout_s:g}s (request_timeout_s) and was stopped")
        self.message = str(self.details)


class Deadline:
    """When a request must be finished, on the event loop's clock."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.at = asyncio.get_running_loop().time() + timeout_s

    def expired(self) -> RequestTimedOut:
        return RequestTimedOut(self.timeout_s)


def request_deadline(state: Any, timeout_s: float) -> Deadline:
    """The deadline RequestLimits took when the request arrived (a fresh one when called without it)."""
    deadline = getattr(state, STATE_KEY, None)
    return deadline if isinstance(deadline, Deadline) else Deadline(timeout_s)


@dataclass
class _Body:
    received: int = 0
    done: bool = False
    response_started: bool = False
    refused: bool = False


def _refusal(path: str, status: int, message: str, code: str) -> bytes:
    """The OpenAI error document on the OpenAI routes, KServe's {"error": ...} elsewhere."""
    if path.startswith(OPENAI_PATH):
        kind = "timeout_error" if status == 408 else "invalid_request_error"
        document: dict[str, Any] = error_body(message, kind, code=code)
    else:
        document = {"error": message}
    return json.dumps(document).encode()


class RequestLimits:
    """ASGI middleware: 413 for a body over `max_body_bytes`, 408 for a body not in by `timeout_s`.

    After a refusal the rest of the body is discarded by the HTTP server as it arrives (uvicorn keeps
    reading a finished request's body), so the client reads the answer instead of a reset connection.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int, timeout_s: float) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        declared = dict(scope.get("headers") or []).get(b"content-length", b"").strip()
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await _answer(send, 413, _refusal(path, 413, self._too_large(), "request_too_large"))
            return
        deadline = Deadline(self.timeout_s)
        scope.setdefault("state", {})[STATE_KEY] = deadline
        body = _Body()

        async def refuse(status: int, message: str, code: str) -> Message:
            body.refused = True
            await _answer(send, status, _refusal(path, status, message, code))
            # The handler sees a client that went away; whatever it answers is dropped below.
            return {"type": "http.disconnect"}

        async def limited_receive() -> Message:
            if body.done or body.response_started or body.refused:
                return await receive()  # after the body: disconnect detection, not a body read
            try:
                async with asyncio.timeout_at(deadline.at):
                    message = await receive()
            except TimeoutError:
                return await refuse(408, deadline.expired().message, "request_timeout")
            if message["type"] == "http.request":
                body.received += len(message.get("body", b""))
                body.done = not message.get("more_body", False)
                if body.received > self.max_body_bytes:
                    return await refuse(413, self._too_large(), "request_too_large")
            return message

        async def guarded_send(message: Message) -> None:
            if body.refused:
                return
            body.response_started = True
            await send(message)

        await self.app(scope, limited_receive, guarded_send)

    def _too_large(self) -> str:
        return f"the request body is larger than {self.max_body_bytes} bytes (max_body_bytes)"


async def _answer(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body, "more_body": False})
