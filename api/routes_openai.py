"""OpenAI-compatible /v1/completions and /v1/models, backed by the project's own LLM.

Supported: prompt (string or list), max_tokens, temperature 0 (greedy), logprobs
(0-5, with tokens, token_logprobs, top_logprobs, text_offset), echo, stop.
Not supported: sampling (temperature > 0), n > 1, streaming (422 says so).
"""

from __future__ import annotations

import time
import uuid

from fastapi import APIRouter, Depends

from api.deps import AUTH_RESPONSES, get_server, require_token
from api.schemas import CompletionRequest, CompletionResponse

router = APIRouter(prefix="/v1", tags=["openai"], dependencies=[Depends(require_token)],
                   responses={**AUTH_RESPONSES, 503: {"description": "The LLM cannot load"}})


@router.post("/completions", response_model=CompletionResponse)
def completions(body: CompletionRequest, server=Depends(get_server)) -> dict:
    prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
    stop = [body.stop] if isinstance(body.stop, str) else list(body.stop or [])
    outs = server.complete(prompts, max_tokens=body.max_tokens, logprobs=body.logprobs, echo=body.echo, stop=stop)
    llm = server.llm()
    choices = [{"text": o["text"], "index": i, "logprobs": o["logprobs"], "finish_reason": o["finish_reason"]}
               for i, o in enumerate(outs)]
    p = sum(o["prompt_tokens"] for o in outs)
    c = sum(o["completion_tokens"] for o in outs)
    return {"id": f"cmpl-{uuid.uuid4().hex[:24]}", "object": "text_completion", "created": int(time.time()),
            "model": llm.version, "choices": choices,
            "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}}


@router.get("/models")
def models(server=Depends(get_server)) -> dict:
    """The one served model (its id is the LLM version: base + adapter hash).

    ``label_prior_shift`` (an extension OpenAI clients ignore) carries the adapter's label-prior correction,
    so a remote client scores labels exactly as the in-process model does.
    """
    llm = server.llm()
    entry = {"id": llm.version, "object": "model", "owned_by": "mhdash",
             "label_prior_shift": getattr(llm, "prior_shift", None) or {}}
    return {"object": "list", "data": [entry]}
