"""POST /indicators: psycholinguistic indicators of one text (word counts, no model; the text is not stored)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import AUTH_RESPONSES, require_token
from api.schemas import Indicators, IndicatorsRequest

router = APIRouter(tags=["indicators"], dependencies=[Depends(require_token)], responses=AUTH_RESPONSES)


@router.post("/indicators", response_model=Indicators, responses={401: {"description": "Missing or wrong token"}})
def indicators(body: IndicatorsRequest) -> dict:
    """Rates per 100 words with the matching spans, valence, and each sentence's dominant emotion."""
    from core.clinical.indicators import compute

    return compute(body.text)
