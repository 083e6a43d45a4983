"""Library errors -> HTTP statuses with a message a person can act on (the only place that maps them)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from core.errors import (
    ConfigError,
    CoreError,
    InferenceError,
    ModelOutOfMemory,
    ModelUnavailable,
    NotFound,
    NoTrainedHeads,
    StorageError,
    ValidationError,
)

log = logging.getLogger("mhdash.api")


def _body(code: str, message: str) -> dict:
    return {"detail": {"code": code, "message": message}}


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        # The default body echoes the input back; a clinical text must not travel into client logs that way.
        detail = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")).removeprefix("Value error, "),
                   "type": e.get("type", "")} for e in exc.errors()]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(CoreError)
    async def core_error(request: Request, exc: CoreError):
        if isinstance(exc, NoTrainedHeads):
            return JSONResponse(_body("no_trained_heads", str(exc)), status_code=503)
        if isinstance(exc, ModelOutOfMemory):
            return JSONResponse(_body("out_of_memory", str(exc)), status_code=503)
        if isinstance(exc, ModelUnavailable):
            return JSONResponse(_body("model_unavailable", str(exc)), status_code=503)
        if isinstance(exc, ValidationError):
            return JSONResponse(_body("invalid_input", str(exc)), status_code=422)
        if isinstance(exc, NotFound):
            return JSONResponse(_body("not_found", str(exc)), status_code=404)
        if isinstance(exc, StorageError):
            return JSONResponse(_body("storage", str(exc)), status_code=503)
        if isinstance(exc, InferenceError):
            log.error("inference failed on %s: %s", request.url.path, exc)
            return JSONResponse(_body("inference_failed", str(exc)), status_code=500)
        if isinstance(exc, ConfigError):
            return JSONResponse(_body("misconfigured", str(exc)), status_code=503)
        return JSONResponse(_body("error", str(exc)), status_code=500)
