"""The outermost layer of the API: token, body size and rate limits, checked before a body byte is read.

FastAPI dependencies run after the framework has read and parsed the body, so an
unauthenticated client could make the server buffer and parse any amount of data.
This plain ASGI middleware sees only the request line and headers first:

- every path except ``/health`` needs ``Authorization: Bearer <api_token>`` (compared in
  constant time), ``/openapi.json`` and ``/docs`` included; a wrong or missing token is
  answered 401 at once, and the body is never read;
- a ``Content-Length`` over ``api_max_body_mb`` is answered 413 at once; a body without
  one (chunked) is read here up to the same limit and refused 413 the moment it passes it;
- one client address gets ``api_rate_per_minute`` requests a minute and
  ``api_auth_failures_per_minute`` wrong-token requests a minute; beyond either it gets
  429 with ``Retry-After``.

A response sent before the body was read carries ``Connection: close``, so the server
drops the connection instead of draining the rest of the upload.
"""

from __future__ import annotations

import json
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.security.ratelimit import RateLimiter

OPEN_PATHS = frozenset({"/health"})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return value
    return None


async def _reply(send: Send, status: int, code: str, message: str, extra: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": {"code": code, "message": message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")]
    for k, v in (extra or {}).items():
        headers.append((k.lower().encode(), v.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    def __init__(self, app: ASGIApp, *, token: str, max_body_bytes: int, rate_per_minute: int,
                 auth_failures_per_minute: int):
        self.app = app
        self.token = token.encode()
        self.max_body = int(max_body_bytes)
        self.requests = RateLimiter(rate_per_minute, 60.0) if rate_per_minute > 0 else None
        self.failures = RateLimiter(auth_failures_per_minute, 60.0) if auth_failures_per_minute > 0 else None

    def _authorized(self, scope: Scope) -> bool:
        raw = _header(scope, b"authorization") or b""
        scheme, _, credentials = raw.partition(b" ")
        if scheme.lower() != b"bearer":
            return False
        return secrets.compare_digest(credentials.strip(), self.token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        if self.requests is not None:
            wait = self.requests.hit(client)
            if wait:
                await _reply(send, 429, "rate_limited", f"Too many requests; retry in {wait} s.",
                             {"Retry-After": str(wait)})
                return
        if scope["path"] not in OPEN_PATHS and not self._authorized(scope):
            wait = self.failures.hit(client) if self.failures is not None else 0
            if wait:
                await _reply(send, 429, "rate_limited", f"Too many requests with a wrong token; retry in {wait} s.",
                             {"Retry-After": str(wait)})
                return
            await _reply(send, 401, "unauthorized", "Missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})
            return
        length = _header(scope, b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await _reply(send, 400, "bad_request", "Content-Length is not a number.")
                return
            if declared > self.max_body:
                await _reply(send, 413, "too_large", f"The body is {declared:,} bytes; the limit is "
                                                     f"{self.max_body:,}.")
                return
            await self.app(scope, receive, send)
            return
        await self._counted(scope, receive, send)

    async def _counted(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A body without Content-Length (chunked): read it here, at most the limit, then hand it on whole."""
        chunks, seen = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            seen += len(body)
            if seen > self.max_body:
                await _reply(send, 413, "too_large", f"The body is over the limit of {self.max_body:,} bytes.")
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
