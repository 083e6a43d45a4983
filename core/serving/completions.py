"""The server side of the OpenAI completions protocol: a completion choice computed with the in-process LLM.

Greedy decoding, with ``echo`` and ``logprobs`` (``tokens``/``token_logprobs``/``top_logprobs``/``text_offset``),
which is what lets a remote dashboard score labels from prompt log-probabilities (``core.backends``).
"""

from __future__ import annotations

from core.errors import InferenceError, ModelOutOfMemory, ValidationError
from core.llm.model import context_length

MAX_TOP_LOGPROBS = 5


def _forward(model, ids, cache=None):
    import torch

    try:
        with torch.inference_mode():
            return model(input_ids=ids, past_key_values=cache, use_cache=True)
    except MemoryError as exc:
        raise ModelOutOfMemory("The model ran out of memory on this prompt") from exc
    except RuntimeError as exc:
        raise InferenceError(f"The model failed on this prompt: {exc}") from exc


def _top(logp, k: int, decode) -> dict[str, float]:
    import torch

    if k <= 0:
        return {}
    vals, idx = torch.topk(logp, k)
    return {decode(int(i)): round(float(v), 6) for v, i in zip(vals, idx, strict=True)}


def complete(llm, prompt: str, *, max_tokens: int = 16, logprobs: int | None = None, echo: bool = False,
             stop: list[str] | tuple[str, ...] = ()) -> dict:
    """One OpenAI completion choice from the in-process LLM: greedy decoding (temperature 0).

    Returns {text, finish_reason, logprobs (None unless asked), prompt_tokens, completion_tokens}.
    With ``echo`` the text starts with the prompt and, when ``logprobs`` is given, the
    prompt's tokens come first in ``logprobs`` (the first one's log-probability is None).
    """
    import torch


    tok = llm.tokenizer
    k = min(int(logprobs or 0), MAX_TOP_LOGPROBS)
    want_lp = logprobs is not None
    if not prompt:
        raise ValidationError("The prompt is empty")
    enc = tok(prompt, add_special_tokens=False, return_offsets_mapping=bool(getattr(tok, "is_fast", False)))
    ids = list(enc["input_ids"])
    if "offset_mapping" in enc:
        offsets = [int(s) for s, _e in enc["offset_mapping"]]
    else:
        offsets = [len(tok.decode(ids[:i])) for i in range(len(ids))]
    bos = [tok.bos_token_id] if getattr(tok, "add_bos_token", False) and tok.bos_token_id is not None else []
    n_ctx = context_length(llm)
    if len(bos) + len(ids) + max_tokens > n_ctx:
        raise ValidationError(f"The prompt ({len(ids)} tokens) plus max_tokens ({max_tokens}) exceeds the model's "
                              f"context of {n_ctx} tokens")
    if not ids and not bos:
        raise ValidationError("The prompt has no tokens")

    def decode(i: int) -> str:
        return tok.decode([i], skip_special_tokens=False)

    full = torch.tensor([bos + ids], device=llm.model.device)
    out = _forward(llm.model, full)
    logp = torch.log_softmax(out.logits[0].float(), dim=-1)  # [T, V]
    tokens, token_lps, tops, text_offsets = [], [], [], []
    if echo and want_lp:
        for j, tid in enumerate(ids):
            pos = len(bos) + j  # position of this token in `full`; its probability comes from pos-1
            tokens.append(decode(tid))
            token_lps.append(round(float(logp[pos - 1, tid]), 6) if pos > 0 else None)
            tops.append(_top(logp[pos - 1], k, decode) if pos > 0 else None)
            text_offsets.append(offsets[j])
    base = len(prompt) if echo else 0
    eos = {tok.eos_token_id, tok.pad_token_id} - {None}
    cache, last = out.past_key_values, logp[-1]
    generated: list[int] = []
    text, finish = "", "length"
    for _ in range(max(0, int(max_tokens))):
        nxt = int(torch.argmax(last))
        if nxt in eos:
            finish = "stop"
            break
        prev_len = len(text)
        generated.append(nxt)
        text = tok.decode(generated, skip_special_tokens=True)
        if want_lp:
            tokens.append(decode(nxt))
            token_lps.append(round(float(last[nxt]), 6))
            tops.append(_top(last, k, decode))
            text_offsets.append(base + prev_len)
        hit = [text.find(s) for s in stop if s and s in text]
        if hit:
            text, finish = text[:min(hit)], "stop"
            break
        step = _forward(llm.model, torch.tensor([[nxt]], device=llm.model.device), cache)
        cache, last = step.past_key_values, torch.log_softmax(step.logits[0, -1].float(), dim=-1)
    lp = {"tokens": tokens, "token_logprobs": token_lps, "top_logprobs": tops, "text_offset": text_offsets} \
        if want_lp else None
    return {"text": (prompt if echo else "") + text, "finish_reason": finish, "logprobs": lp,
            "prompt_tokens": len(bos) + len(ids), "completion_tokens": len(generated)}
