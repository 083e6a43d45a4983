"""The multi-task psychosocial model: a Hugging Face encoder, its first-token embedding, five heads.

This is the heavy module (torch, transformers): import it inside functions that
score text, never at the top of light modules or pages.

How outputs stay inside their ranges: every head is one linear unit on the
pooled embedding; a regression head's value is ``low + (high - low) *
sigmoid(z)`` and the binary head's value is ``sigmoid(z)``. Training fits
regression heads with MSE on targets scaled to [0, 1] by the same (low, high),
recorded in the checkpoint's ``target_scaling``; so a head can never leave its
range, whatever the input.

Uncertainty: Monte-Carlo dropout over the heads only. The backbone runs once
(deterministic); the pooled embedding is passed through the heads
``mc_dropout_passes`` times with independent dropout masks (p = the training
dropout, seeded so the same text always gets the same interval). ``std`` is
the standard deviation of the head's value over the passes, ``low``/``high``
their 5th/95th percentiles; ``value`` is the dropout-free prediction. This
measures how much the heads rely on individual embedding features, not the
backbone's uncertainty; it costs a few small matrix products per text.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from core.errors import ModelUnavailable
from core.hardware import resolve_device, resolve_encoder_source
from core.models import registry as model_registry
from core.models.checkpoint import MultiTaskModel, load_checkpoint, read_checkpoint_config
from core.models.windows import INFER_BATCH, length_batches, pad_batch, windows_for


def embed_sequences(model: MultiTaskModel, seqs: list[list[int]], pad_id: int, *, batch_size: int = INFER_BATCH,
                    device: str = "cpu", progress: Callable[[int, int], None] | None = None) -> torch.Tensor:
    """Pooled embeddings of token sequences: length-sorted batches of similar lengths, dynamic padding,
    inference_mode."""
    out = torch.empty((len(seqs), model.backbone.config.hidden_size), dtype=torch.float32)
    model.eval()
    done = 0
    with torch.inference_mode():
        for idx in length_batches([len(s) for s in seqs], batch_size):
            ids, mask = pad_batch([seqs[i] for i in idx], pad_id)
            out[idx] = model.embed(ids.to(device), mask.to(device)).float().cpu()
            done += len(idx)
            if progress:
                progress(done, len(seqs))
    return out


# ----------------------------------------------------------------------------- loading

@dataclass
class Encoder:
    """A loaded backbone + heads version, ready to score. Build it with load_encoder()."""

    model: MultiTaskModel
    tokenizer: object
    version: str
    backbone_id: str
    device: str
    config: dict
    runtime: str = "torch"
    mc_passes: int = 8
    onnx_session: object = None
    _explain_cache: dict = field(default_factory=dict, repr=False)
    # text hash -> (window embeddings, window weights, token count): the five heads and the task heads of one
    # visit share one backbone pass (see window_embeddings)
    _embed_cache: dict = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def model_id(self) -> str:
        return f"multitask:{self.backbone_id}"

    @property
    def max_length(self) -> int:
        return int(self.config["max_length"])

    @property
    def head_names(self) -> list[str]:
        return self.model.head_names

    def sentence_embeddings(self, texts: list[str]) -> torch.Tensor:
        """L2-normalised mean-pooled backbone embeddings of short texts, one batched pass (the crisis check's
        semantic layer). Mean pooling whatever pooling the heads use: similarity needs the sentence-level mean."""
        if not texts:
            return torch.zeros((0, self.model.backbone.config.hidden_size))
        ids = self.tokenizer(texts, add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
        seqs, owner = [], []
        for i, t_ids in enumerate(ids):
            for w in windows_for(self.tokenizer, t_ids, self.max_length):  # sentences are short; guards odd input
                seqs.append(w)
                owner.append(i)
        pad = self.tokenizer.pad_token_id or 0
        with self._lock:
            saved = self.model.pooling
            try:
                self.model.pooling = "mean"
                pooled = embed_sequences(self.model, seqs, pad, device=self.device)
            finally:
                self.model.pooling = saved
        out = torch.zeros((len(texts), pooled.shape[1]))
        out.index_add_(0, torch.tensor(owner), pooled)
        return torch.nn.functional.normalize(out, dim=-1)


def load_encoder(settings) -> Encoder:
    """Backbone + the heads version named by settings (``latest`` follows the pointer)."""

    heads_dir = Path(settings.heads_dir)
    version = model_registry.resolve_version(heads_dir, settings.heads_version)
    vdir = heads_dir / version
    config = read_checkpoint_config(vdir)
    if config.get("backbone_id") != settings.encoder_backbone:
        raise ModelUnavailable(f"Heads {version} were trained for backbone {config.get('backbone_id')!r} but "
                               f"encoder_backbone is {settings.encoder_backbone!r}; train heads for this backbone "
                               f"(python -m core train --backbone ...) or change the setting")
    device = resolve_device(settings.device)
    model, tokenizer, config = load_checkpoint(vdir, resolve_encoder_source(settings.encoder_backbone), device=device)
    enc = Encoder(model=model, tokenizer=tokenizer, version=version, backbone_id=config["backbone_id"], device=device,
                  config=config, runtime=settings.encoder_runtime, mc_passes=max(1, int(settings.mc_dropout_passes)))
    if settings.encoder_runtime == "onnx":
        from core.models.onnx_runtime import open_session

        enc.onnx_session = open_session(settings, version, config)
        enc.device = "cpu"
    return enc


# ----------------------------------------------------------------------------- scoring

def _pooled(encoder: Encoder, seqs: list[list[int]], progress) -> torch.Tensor:
    pad = encoder.tokenizer.pad_token_id or 0
    if encoder.onnx_session is not None:
        from core.models.onnx_runtime import embed_with_onnx

        return embed_with_onnx(encoder.onnx_session, seqs, pad, progress=progress)
    return embed_sequences(encoder.model, seqs, pad, device=encoder.device, progress=progress)


def mc_head_values(model: MultiTaskModel, pooled: torch.Tensor, passes: int,
                   seqs: list[list[int]]) -> torch.Tensor:
    """[passes, N, heads] head values under independent dropout masks on the pooled embedding.

    Each window's masks are seeded from its own token ids, so a text gets the
    same interval whether it is scored alone or in a batch, today or tomorrow.
    """
    import zlib

    p = model.dropout.p
    keep = torch.empty((passes, *pooled.shape))
    for i, seq in enumerate(seqs):
        gen = torch.Generator().manual_seed(zlib.crc32(repr(seq).encode()))
        keep[:, i] = torch.bernoulli(torch.full((passes, pooled.shape[1]), 1 - p), generator=gen)
    keep /= 1 - p
    w, b = model.heads.weight.detach().cpu().float(), model.heads.bias.detach().cpu().float()
    return model.low.cpu() + model.span.cpu() * torch.sigmoid((pooled.unsqueeze(0) * keep) @ w.T + b)


EMBED_CACHE_SIZE = 64  # texts whose window embeddings stay in memory (a few visits' notes)


def window_embeddings(encoder: Encoder, texts: list[str], *, progress: Callable[[int, int], None] | None = None,
                      use_cache: bool = True) -> tuple[torch.Tensor, list[int], list[int], list[list[int]], list[int]]:
    """Pooled embeddings of every window of every text: (pooled [W, hidden], owner text index per window,
    window weight (its length), window token ids, tokens per text).

    Long texts become overlapping windows covering every token (never truncated). Recent texts are kept in
    memory keyed by their hash, so the five heads and the task heads of a visit cost one backbone pass.
    Callers hold ``encoder._lock``.
    """
    tok = encoder.tokenizer
    keys = [hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest() for t in texts]
    cache = encoder._embed_cache
    todo = [i for i, k in enumerate(keys) if not (use_cache and k in cache)]
    fresh: dict[int, tuple] = {}
    if todo:
        ids = tok([texts[i] for i in todo], add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
        seqs, owner = [], []
        for j, t_ids in enumerate(ids):
            for w in windows_for(tok, t_ids, encoder.max_length):
                seqs.append(w)
                owner.append(j)
        pooled = _pooled(encoder, seqs, progress)
        owner_t = torch.tensor(owner)
        for j, i in enumerate(todo):
            sel = (owner_t == j).nonzero().flatten().tolist()
            fresh[i] = (pooled[sel], [seqs[k] for k in sel], len(ids[j]))
            if use_cache:
                cache[keys[i]] = fresh[i]
                while len(cache) > EMBED_CACHE_SIZE:
                    cache.pop(next(iter(cache)))
    rows, owner, weight, seqs, tokens = [], [], [], [], []
    for i, k in enumerate(keys):
        emb, wins, n_tok = fresh[i] if i in fresh else cache[k]
        rows.append(emb)
        owner += [i] * len(wins)
        weight += [max(1, len(w)) for w in wins]
        seqs += wins
        tokens.append(n_tok)
    return torch.cat(rows), owner, weight, seqs, tokens


def score_texts(encoder: Encoder, texts: list[str], *, progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Score every text with the 5 heads. Long texts become overlapping windows, averaged by window length."""
    texts = [t if isinstance(t, str) else "" for t in texts]
    if not texts:
        return []
    with encoder._lock:  # one model, shared by Streamlit sessions: keep runs from interleaving
        pooled, owner, weight, seqs, tokens = window_embeddings(encoder, texts, progress=progress)
        model = encoder.model
        with torch.inference_mode():
            det = (model.low.cpu() + model.span.cpu() * torch.sigmoid(
                pooled @ model.heads.weight.detach().cpu().T + model.heads.bias.detach().cpu()))
            mc = mc_head_values(model, pooled, encoder.mc_passes, seqs)
    owner_t = torch.tensor(owner)
    w_t = torch.tensor(weight, dtype=torch.float32)
    results = []
    names = model.head_names
    for i in range(len(texts)):
        sel = owner_t == i
        wt = (w_t[sel] / w_t[sel].sum()).unsqueeze(-1)
        value = (det[sel] * wt).sum(0)
        samples = (mc[:, sel] * wt).sum(1)  # [passes, heads]
        std = samples.std(0, unbiased=False) if samples.shape[0] > 1 else torch.zeros_like(value)
        lo = torch.quantile(samples, 0.05, dim=0)
        hi = torch.quantile(samples, 0.95, dim=0)
        results.append({
            "heads": {n: {"value": float(value[j]), "std": float(std[j]), "low": float(min(lo[j], value[j])),
                          "high": float(max(hi[j], value[j]))} for j, n in enumerate(names)},
            "windows": int(sel.sum()),
            "tokens": tokens[i],
        })
    return results


