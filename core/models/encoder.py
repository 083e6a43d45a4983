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
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from core.errors import ModelUnavailable
from core.models.heads import HEADS, HeadSpec, get_head

CONFIG_FILE = "config.json"
HEADS_FILE = "heads.safetensors"
BACKBONE_DELTA_FILE = "backbone_delta.safetensors"  # only the unfrozen last-N layers, when any
POOLINGS = ("cls", "mean")
WINDOW_OVERLAP = 0.25  # fraction of a window shared with the next one
INFER_BATCH = 32


def head_spec_dict(spec: HeadSpec) -> dict:
    return {"name": spec.name, "kind": spec.kind, "low": spec.low, "high": spec.high,
            "target_column": spec.target_column}


class MultiTaskModel(nn.Module):
    """Any Hugging Face encoder + pooling + dropout + one linear unit per head."""

    def __init__(self, backbone: nn.Module, heads: list[HeadSpec] | None = None, *, dropout: float = 0.1,
                 pooling: str = "cls"):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}")
        self.backbone = backbone
        self.specs = list(heads or HEADS)
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        hidden = backbone.config.hidden_size
        # One (hidden -> 5) matrix instead of five modules: one matmul serves all heads and MC passes.
        self.heads = nn.Linear(hidden, len(self.specs))
        low = torch.tensor([s.low for s in self.specs], dtype=torch.float32)
        high = torch.tensor([s.high for s in self.specs], dtype=torch.float32)
        binary = torch.tensor([s.kind == "binary" for s in self.specs])
        self.register_buffer("low", torch.where(binary, torch.zeros_like(low), low), persistent=False)
        self.register_buffer("span", torch.where(binary, torch.ones_like(low), high - low), persistent=False)

    @property
    def head_names(self) -> list[str]:
        return [s.name for s in self.specs]

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if self.pooling == "cls":
            return hidden[:, 0]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    def logits(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.heads(self.dropout(pooled))

    def values(self, logits: torch.Tensor) -> torch.Tensor:
        """Logits -> values inside each head's range (see the module docstring)."""
        return self.low + self.span * torch.sigmoid(logits)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(pooled embedding, head values) — the graph ONNX export traces."""
        pooled = self.embed(input_ids, attention_mask)
        return pooled, self.values(self.logits(pooled))

    def head_state(self) -> dict[str, torch.Tensor]:
        return {"heads.weight": self.heads.weight.detach().contiguous(),
                "heads.bias": self.heads.bias.detach().contiguous()}


# ----------------------------------------------------------------------------- backbone

def load_backbone(source: str, *, tokenizer_source: str | None = None):
    """(AutoModel, AutoTokenizer) from a local directory or an already-downloaded hub id."""
    from transformers import AutoModel, AutoTokenizer

    try:
        model = AutoModel.from_pretrained(source)
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_source or source)
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"Cannot load the encoder backbone {source!r} (offline; nothing is downloaded): "
                               f"{exc}") from exc
    model.eval()
    return model, tokenizer


def backbone_fingerprint(model: nn.Module) -> str:
    """Short hash of the backbone's config and the values of its first and last weight tensors.

    Cheap (two tensors, not the whole model) and enough to tell two backbones
    apart: it keys the embedding cache and checks heads match their backbone.
    """
    # Where the weights were loaded from is not part of their identity: the same backbone installed in
    # another virtualenv (another path) must give the same fingerprint.
    config = {k: v for k, v in model.config.to_dict().items()
              if k not in ("_name_or_path", "name_or_path", "transformers_version", "_commit_hash")}
    h = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
    state = model.state_dict()
    for key in (next(iter(state)), next(reversed(state))):
        h.update(key.encode())
        h.update(state[key].detach().float().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


def last_layers(backbone: nn.Module) -> nn.ModuleList:
    """The transformer block list (the longest ModuleList), for unfreezing the last N layers."""
    lists = [m for m in backbone.modules() if isinstance(m, nn.ModuleList)]
    if not lists:
        raise ModelUnavailable("Cannot find the transformer layers of this backbone to unfreeze")
    return max(lists, key=len)


# ----------------------------------------------------------------------------- windows

def special_tokens(tokenizer) -> tuple[list[int], list[int]]:
    """(prefix, suffix) special ids the tokenizer wraps a single text in ([CLS] .. [SEP], <s> .. </s>).

    Read off an encoded probe word, because transformers 5 tokenizers no longer
    all expose build_inputs_with_special_tokens.
    """
    cached = getattr(tokenizer, "_mhd_specials", None)
    if cached is not None:
        return cached
    bare = tokenizer("hello", add_special_tokens=False)["input_ids"]
    full = tokenizer("hello")["input_ids"]
    for i in range(len(full) - len(bare) + 1):
        if full[i:i + len(bare)] == bare:
            cached = (full[:i], full[i + len(bare):])
            break
    else:
        raise ModelUnavailable("Cannot work out this tokenizer's special tokens")
    tokenizer._mhd_specials = cached
    return cached


def wrap(tokenizer, ids: list[int]) -> list[int]:
    prefix, suffix = special_tokens(tokenizer)
    return [*prefix, *ids, *suffix]


def window_content(tokenizer, max_length: int) -> int:
    prefix, suffix = special_tokens(tokenizer)
    return max_length - len(prefix) - len(suffix)


def windows_for(tokenizer, ids: list[int], max_length: int) -> list[list[int]]:
    """Overlapping windows (with special tokens) covering every token; never truncates."""
    content = window_content(tokenizer, max_length)
    if content < 8:
        raise ValueError(f"max_length {max_length} is too short for windows")
    step = max(1, int(content * (1 - WINDOW_OVERLAP)))
    starts = [0]
    while starts[-1] + content < len(ids):
        starts.append(starts[-1] + step)
    return [wrap(tokenizer, ids[s:s + content]) for s in starts]


def pad_batch(seqs: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad to the longest sequence of this batch (dynamic padding)."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, :len(s)] = 1
    return ids, mask


def embed_sequences(model: MultiTaskModel, seqs: list[list[int]], pad_id: int, *, batch_size: int = INFER_BATCH,
                    device: str = "cpu", progress: Callable[[int, int], None] | None = None) -> torch.Tensor:
    """Pooled embeddings of token sequences: length-sorted batches, dynamic padding, inference_mode."""
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    out = torch.empty((len(seqs), model.backbone.config.hidden_size), dtype=torch.float32)
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            ids, mask = pad_batch([seqs[i] for i in idx], pad_id)
            out[idx] = model.embed(ids.to(device), mask.to(device)).float().cpu()
            if progress:
                progress(min(start + batch_size, len(order)), len(order))
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


def read_checkpoint_config(version_dir: Path) -> dict:
    try:
        return json.loads((Path(version_dir) / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"Heads checkpoint {version_dir} has no readable {CONFIG_FILE}: {exc}") from exc


def build_model(config: dict, backbone: nn.Module) -> MultiTaskModel:
    specs = []
    for h in config["heads"]:
        spec = get_head(h["name"])
        if (spec.kind, spec.low, spec.high) != (h["kind"], h["low"], h["high"]):
            raise ModelUnavailable(f"Checkpoint head {h['name']} ({h['kind']} {h['low']}..{h['high']}) does not "
                                   f"match this version of the head table")
        specs.append(spec)
    return MultiTaskModel(backbone, specs, dropout=config.get("dropout", 0.1), pooling=config.get("pooling", "cls"))


def load_checkpoint(version_dir: Path, backbone_source: str, *, device: str = "cpu") -> tuple[MultiTaskModel, object, dict]:
    """Rebuild a MultiTaskModel from a version folder and a backbone; checks the backbone is the trained one."""
    from safetensors.torch import load_file

    version_dir = Path(version_dir)
    config = read_checkpoint_config(version_dir)
    tok_dir = version_dir / "tokenizer"
    backbone, tokenizer = load_backbone(backbone_source, tokenizer_source=str(tok_dir) if tok_dir.exists() else None)
    model = build_model(config, backbone)
    # Fingerprint before any fine-tuned layers are loaded: it names the pretrained backbone.
    expected = config.get("backbone_fingerprint")
    actual = backbone_fingerprint(backbone)
    if expected and expected != actual:
        raise ModelUnavailable(f"Heads {version_dir.name} were trained on backbone {config.get('backbone_id')} "
                               f"(fingerprint {expected}) but the loaded backbone {backbone_source} has {actual}; "
                               f"set encoder_backbone to the trained backbone or train new heads")
    delta = version_dir / BACKBONE_DELTA_FILE
    if delta.exists():
        missing = model.backbone.load_state_dict(load_file(str(delta)), strict=False)
        if missing.unexpected_keys:
            raise ModelUnavailable(f"{delta} has weights this backbone lacks: {missing.unexpected_keys[:3]}")
    state = load_file(str(version_dir / HEADS_FILE))
    model.heads.load_state_dict({k.removeprefix("heads."): v for k, v in state.items()})
    model.to(device).eval()
    return model, tokenizer, config


def load_encoder(settings) -> Encoder:
    """Backbone + the heads version named by settings (``latest`` follows the pointer)."""
    from core.models import registry as model_registry
    from core.hardware import resolve_device, resolve_encoder_source

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
        from core.models.onnx_export import open_session

        enc.onnx_session = open_session(settings, version, config)
        enc.device = "cpu"
    return enc


# ----------------------------------------------------------------------------- scoring

def _pooled(encoder: Encoder, seqs: list[list[int]], progress) -> torch.Tensor:
    pad = encoder.tokenizer.pad_token_id or 0
    if encoder.onnx_session is not None:
        from core.models.onnx_export import embed_with_onnx

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
