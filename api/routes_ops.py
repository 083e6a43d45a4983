"""GET /health (open; status and model versions, nothing about texts) and GET /metrics (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import get_server, require_token
from api.schemas import Health

router = APIRouter(tags=["ops"])


@router.get("/health", response_model=Health)
def health(server=Depends(get_server)) -> dict:
    """Open to load balancers: status, loaded model versions, canary, cache backend."""
    return server.health()


@router.get("/metrics", dependencies=[Depends(require_token)], response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"},
                       401: {"description": "Missing or wrong bearer token"}})
def metrics(request: Request) -> Response:
    """Requests, latency histogram, errors, cache hits and outputs per model version."""
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
