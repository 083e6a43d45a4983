"""The multi-task model (backbone + pooling + heads), its backbone's identity, and its checkpoint on disk."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from torch import nn

from core.errors import ModelUnavailable
from core.hardware import one_load_at_a_time
from core.models.heads import HEADS, HeadSpec, get_head

CONFIG_FILE = "config.json"
HEADS_FILE = "heads.safetensors"
BACKBONE_DELTA_FILE = "backbone_delta.safetensors"  # only the unfrozen last-N layers, when any
POOLINGS = ("cls", "mean")




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

@one_load_at_a_time
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




