"""Token attributions for one head: integrated gradients over each window of the note."""

from __future__ import annotations

import hashlib

import torch

from core.models.checkpoint import MultiTaskModel
from core.models.encoder import Encoder
from core.models.windows import WINDOW_OVERLAP, special_tokens, window_content, wrap

# ----------------------------------------------------------------------------- explanations

IG_STEPS = 24




def _ig_window(model: MultiTaskModel, ids: torch.Tensor, head_index: int, steps: int,
               baseline_id: int, content: slice) -> tuple[torch.Tensor, float]:
    """Integrated Gradients over input embeddings for one window; returns (per-token scores, completeness gap)."""
    emb_layer = model.backbone.get_input_embeddings()
    mask = torch.ones_like(ids)
    x = emb_layer(ids).detach()
    # Baseline: the same sequence with every content token replaced by [PAD]/[MASK], specials kept,
    # so position and special-token effects cancel out and only the words are credited.
    base_ids = ids.clone()
    base_ids[0, content] = baseline_id
    x0 = emb_layer(base_ids).detach()
    alphas = torch.linspace(0, 1, steps + 1)[1:]
    total = torch.zeros_like(x)
    chunk = 8
    for s in range(0, steps, chunk):
        a = alphas[s:s + chunk].view(-1, 1, 1)
        path = (x0 + a * (x - x0)).requires_grad_(True)
        hidden = model.backbone(inputs_embeds=path, attention_mask=mask.expand(len(a), -1)).last_hidden_state
        pooled = hidden[:, 0] if model.pooling == "cls" else hidden.mean(1)
        z = model.heads(pooled)[:, head_index]
        (grad,) = torch.autograd.grad(z.sum(), path)
        total += grad.sum(0, keepdim=True)
    attr = ((x - x0) * total / steps).sum(-1)[0]

    def logit(e):
        h = model.backbone(inputs_embeds=e, attention_mask=mask).last_hidden_state
        p = h[:, 0] if model.pooling == "cls" else h.mean(1)
        return float(model.heads(p)[0, head_index])

    with torch.no_grad():
        gap = abs(float(attr.sum()) - (logit(x) - logit(x0)))
    return attr.detach(), gap


def explain(encoder: Encoder, text: str, head: str, *, steps: int = IG_STEPS) -> list[tuple[str, float]]:
    """Per-word attributions for one head (Integrated Gradients on the head's logit), cached per text.

    Scores are in logit units: positive words push the head's value up. Words
    are rebuilt from sub-word tokens (their scores summed); in long texts each
    window is explained separately and tokens in overlaps get the mean.
    ``encoder.last_explain`` holds the cost and the completeness gap
    |sum(attributions) - (f(x) - f(baseline))| as a convergence check.
    """
    import time

    names = encoder.head_names
    if head not in names:
        raise KeyError(f"Unknown head {head!r}; heads are {', '.join(names)}")
    key = (encoder.version, head, steps, hashlib.sha256(text.encode("utf-8")).hexdigest())
    if key in encoder._explain_cache:
        return encoder._explain_cache[key]
    t0 = time.perf_counter()
    tok = encoder.tokenizer
    enc = tok(text, add_special_tokens=False, truncation=False, return_offsets_mapping=True, verbose=False)
    ids, offsets = enc["input_ids"], enc["offset_mapping"]
    if not ids:
        return []
    content = window_content(tok, encoder.max_length)
    step = max(1, int(content * (1 - WINDOW_OVERLAP)))
    sums = torch.zeros(len(ids))
    counts = torch.zeros(len(ids))
    baseline_id = tok.pad_token_id if tok.pad_token_id is not None else 0
    model = encoder.model
    gaps = []
    n_windows = 0
    with encoder._lock:
        model.eval()  # dropout off: attributions explain the deterministic value
        start = 0
        while True:
            chunk = ids[start:start + content]
            seq = torch.tensor([wrap(tok, chunk)], device=encoder.device)
            front = len(special_tokens(tok)[0])
            attr, gap = _ig_window(model, seq, names.index(head), steps, baseline_id,
                                   slice(front, front + len(chunk)))
            gaps.append(gap)
            n_windows += 1
            sums[start:start + len(chunk)] += attr[front:front + len(chunk)].cpu()
            counts[start:start + len(chunk)] += 1
            if start + content >= len(ids):
                break
            start += step
    scores = sums / counts.clamp(min=1)
    # Merge sub-words into whitespace-separated words so the UI highlights words, not "##ing".
    words: list[tuple[str, float]] = []
    prev_end = None
    for (s, e), sc in zip(offsets, scores.tolist()):
        if prev_end is not None and s == prev_end and words:
            w, v = words[-1]
            words[-1] = (w + text[s:e], v + sc)
        else:
            words.append((text[s:e], sc))
        prev_end = e
    encoder.last_explain = {"seconds": round(time.perf_counter() - t0, 3), "windows": n_windows, "steps": steps,
                            "completeness_gap": max(gaps)}
    encoder._explain_cache[key] = words
    return words


