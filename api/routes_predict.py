"""POST /predict and /predict_batch: the five heads with uncertainty and the version that served."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import AUTH_RESPONSES, caller, get_server, require_token
from api.schemas import PredictBatchRequest, PredictBatchResponse, Prediction, PredictRequest

router = APIRouter(tags=["encoder"], dependencies=[Depends(require_token)], responses=AUTH_RESPONSES)

_ERRORS = {401: {"description": "Missing or wrong bearer token"},
           503: {"description": "No trained heads installed, or the model cannot load"}}


@router.post("/predict", response_model=Prediction, responses=_ERRORS)
def predict(body: PredictRequest, server=Depends(get_server), who: str = Depends(caller)) -> dict:
    """Score one text with all five heads (and, with indicators=true, the psycholinguistic indicators)."""
    result = server.predict([body.text], endpoint="predict", caller=who)[0]
    if body.indicators:
        from core.clinical.indicators import compute

        result = {**result, "indicators": compute(body.text)}
    return result


@router.post("/predict_batch", response_model=PredictBatchResponse, responses=_ERRORS)
def predict_batch(body: PredictBatchRequest, server=Depends(get_server), who: str = Depends(caller)) -> dict:
    """Score 1 to 32 texts; results come in the order of the texts."""
    return {"results": server.predict(body.texts, endpoint="predict_batch", caller=who)}
