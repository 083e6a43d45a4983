"""Dependencies of the routes: the model server, bearer-token auth, the caller's name."""

from __future__ import annotations

import re
import secrets

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from core.serving import ModelServer

AUTH_RESPONSES = {401: {"description": "Missing or wrong bearer token"}}
_bearer = HTTPBearer(auto_error=False, description="The API token (settings.api_token / MHD_API_TOKEN).")
_CALLER_RE = re.compile(r"[^A-Za-z0-9._@:-]")


def get_server(request: Request) -> ModelServer:
    return request.app.state.server


def require_token(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    """401 unless the request carries ``Authorization: Bearer <api_token>`` (compared in constant time)."""
    expected: str = request.app.state.token
    if creds is None or not secrets.compare_digest(creds.credentials.encode("utf-8", "surrogatepass"),
                                                   expected.encode()):
        raise HTTPException(status_code=401, detail="Missing or wrong bearer token",
                            headers={"WWW-Authenticate": "Bearer"})


def caller(request: Request) -> str:
    """Who is calling, from the optional ``X-Caller`` header (e.g. ``emr``, ``web``); logged, never trusted."""
    raw = request.headers.get("x-caller", "") or "anonymous"
    return _CALLER_RE.sub("_", raw)[:64]
