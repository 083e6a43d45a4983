"""The FastAPI app: routers, error mapping, metrics. Start it with ``python -m core serve``."""

from __future__ import annotations

from fastapi import FastAPI

from api import errors, routes_analyze, routes_indicators, routes_openai, routes_ops, routes_predict
from api.guard import RequestGuard
from api.metrics import Metrics, MetricsMiddleware
from core.safety.deid import install_log_redaction
from core.serving import ModelServer, require_api_token


def create_app(settings, *, server: ModelServer | None = None) -> FastAPI:
    """The app over ``server`` (a ModelServer on ``settings`` by default). Refuses an empty/placeholder token.

    The outermost middleware (``api.guard``) checks the token, the body size and the rate limits before any body
    is read; the schema (``/openapi.json``) needs the token too, and the interactive docs are off unless
    ``api_docs`` is set (then behind the token as well).
    """
    install_log_redaction()  # no PHI in application logs: request texts can reach error messages and tracebacks
    token = require_api_token(settings)
    app = FastAPI(title="mhdash API", version="1",
                  description="Psychosocial heads and MentaLLaMA-style analysis of clinical text. Texts are never "
                              "stored; the prediction log keeps a keyed hash, the scores and the model version. "
                              "Every path but /health needs the bearer token.",
                  responses={400: {"description": "The body is not valid JSON / UTF-8"},
                             413: {"description": "The body is over api_max_body_mb"},
                             429: {"description": "Too many requests (see Retry-After)"}},
                  docs_url="/docs" if settings.api_docs else None, redoc_url=None)
    app.state.token = token
    app.state.server = server or ModelServer(settings)
    app.state.metrics = Metrics(app.state.server)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    errors.install(app)
    for module in (routes_predict, routes_analyze, routes_indicators, routes_openai, routes_ops):
        app.include_router(module.router)
    app.add_middleware(RequestGuard, token=token, max_body_bytes=int(settings.api_max_body_mb) * 1024 * 1024,
                       rate_per_minute=int(settings.api_rate_per_minute),
                       auth_failures_per_minute=int(settings.api_auth_failures_per_minute))
    return app


def app_from_environment() -> FastAPI:
    """The app `python -m core serve` runs. uvicorn imports this factory by name, so the library never imports its
    front ends; the command passes its --config and --no-preload-llm through the environment."""
    import os

    from core.serving import make_cache
    from core.settings import load_settings

    settings = load_settings(config_file=os.environ.get("MHD_SERVE_CONFIG") or None)
    server = ModelServer(settings, cache=make_cache(os.environ.get("REDIS_URL", "")))
    app = create_app(settings, server=server)
    if os.environ.get("MHD_SERVE_PRELOAD_LLM", "1") != "0":
        server.preload_llm()
    return app
