"""The MentaLLaMA-style language model: base weights + optional LoRA adapter.

One code path serves the laptop and the GPU server: ``from_pretrained`` on a
plain Hugging Face directory (or hub id), then ``PeftModel.from_pretrained`` for
the adapter, optionally merged. A GGUF base (the embedded SmolLM2) is converted
once into such a directory under ``settings.cache_dir`` keyed by the GGUF file's
hash, so only the first load pays for dequantisation and tokenizer conversion.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import AdapterMismatch, ModelOutOfMemory, ModelUnavailable, QuantizationUnavailable
from core.hardware import one_load_at_a_time, resolve_device, resolve_llm_source
from core.settings import EMBEDDED_LLM

PROVENANCE_FILE = "mhdash_adapter.json"
EVALUATION_FILE = "evaluation.json"  # written by `evaluate-imhi --record`; not part of the adapter's hash


@dataclass
class LLM:
    model: Any
    tokenizer: Any
    model_id: str  # what the base setting named (hub id, path, or the embedded sentinel)
    adapter_id: str  # "" when no adapter
    adapter_hash: str  # "" when no adapter
    device: str
    dtype: str
    quantization: str = "none"
    merged: bool = False
    notes: list[str] = field(default_factory=list)
    max_new_tokens: int = 96
    # task names the adapter was tuned on (from its provenance); None when unknown
    trained_tasks: set | None = None
    # task -> label -> log(natural / trained label share), from the adapter's provenance
    prior_shift: dict = field(default_factory=dict)
    # task -> what the adapter's recorded IMHI evaluation says where it did not beat both baselines
    # or ranked posts at AUROC below MIN_AUROC
    weak_tasks: dict = field(default_factory=dict)
    # tasks whose recorded IMHI evaluation beats both baselines AND ranks posts at AUROC >= MIN_AUROC: only
    # there is the model's own label shown beside a task head's ("LLM reading")
    reliable_tasks: set = field(default_factory=set)

    @property
    def version(self) -> str:
        """Identifies base + adapter; stored with every output."""
        if not self.adapter_id:
            return self.model_id
        return f"{self.model_id}+{Path(self.adapter_id).name}@{self.adapter_hash[:12]}"

    def describe(self) -> dict:
        gpu = {}
        if self.device == "cuda":
            import torch

            gpu = {"gpu_memory_allocated_gb": round(torch.cuda.memory_allocated() / 1e9, 2),
                   "gpu_name": torch.cuda.get_device_name()}
        return {**gpu,
            "model_id": self.model_id, "adapter_id": self.adapter_id, "adapter_hash": self.adapter_hash,
            "version": self.version, "device": self.device, "dtype": self.dtype,
            "quantization": self.quantization, "merged": self.merged,
            "parameters": sum(p.numel() for p in self.model.parameters()),
            "notes": list(self.notes),
        }


def file_hash(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def adapter_hash(adapter_dir: Path) -> str:
    """Hash of the adapter's weights and config (identifies it in caches and outputs)."""
    h = hashlib.sha256()
    for name in ("adapter_config.json", "adapter_model.safetensors", "adapter_model.bin"):
        p = Path(adapter_dir) / name
        if p.exists():
            h.update(name.encode())
            h.update(file_hash(p).encode())
    return h.hexdigest()


@one_load_at_a_time
def converted_gguf_dir(gguf_path: Path, cache_dir: Path) -> Path:
    """Plain HF directory (safetensors + tokenizer) converted from a GGUF file, made on first use."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_path = Path(gguf_path)
    target = Path(cache_dir) / "llm-gguf" / f"{gguf_path.stem}-{file_hash(gguf_path)[:16]}"
    if (target / "config.json").exists() and (target / "tokenizer_config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf_path.parent), gguf_file=gguf_path.name, dtype=torch.float32
        )
        tokenizer = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    except Exception as exc:  # a corrupt or unsupported GGUF fails deep in the reader with any error type

        raise ModelUnavailable(f"Could not read the GGUF model {gguf_path}: {exc}") from exc
    # The tensors are already dequantised to float32; drop the GGUF quantizer so they save as plain weights.
    model.hf_quantizer = None
    for attr in ("quantization_config",):
        if hasattr(model.config, attr):
            delattr(model.config, attr)
    for attr in ("is_quantized", "quantization_method"):
        if getattr(model, attr, None):
            setattr(model, attr, False if attr == "is_quantized" else None)
    # Write to a temporary sibling then rename, so a crash never leaves a half-converted cache.
    tmp = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / "mhdash_source.json").write_text(json.dumps({"gguf": str(gguf_path), "sha256": file_hash(gguf_path)}))
        try:
            os.replace(tmp, target)
        except OSError:  # another process won the race
            if not (target / "config.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve_base(settings) -> tuple[str, str]:
    """(model_id, directory or hub id that from_pretrained reads)."""

    source, gguf = resolve_llm_source(settings.llm_base)
    model_id = settings.llm_base
    if gguf:
        if settings.llm_base != EMBEDDED_LLM:
            model_id = Path(settings.llm_base).name
        return model_id, str(converted_gguf_dir(Path(source) / gguf, settings.cache_dir))
    if not Path(source).exists() and ("/" not in source or source.startswith((".", "/"))):
        raise ModelUnavailable(f"Base model not found: {source} (not a directory, GGUF file or hub id)")
    return model_id, source


def _dtype_for(device: str):
    import torch

    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def quantization_config(quantization: str, device: str, compute_dtype):
    """BitsAndBytesConfig for 8bit/4bit, None for none; refuses without CUDA."""
    if quantization == "none":
        return None
    if quantization not in ("8bit", "4bit"):
        raise QuantizationUnavailable(f"Unknown quantization {quantization!r}; use none, 8bit or 4bit")
    if device != "cuda":
        raise QuantizationUnavailable(
            f"quantization={quantization} needs a CUDA GPU (bitsandbytes) and this run is on {device}. "
            "Nothing was loaded. Set quantization=none to load the model unquantized in float32 on the CPU "
            "(about 4 bytes per parameter of RAM), or run on a GPU."
        )
    try:
        import bitsandbytes  # noqa: F401
        from transformers import BitsAndBytesConfig
    except ImportError as exc:
        raise QuantizationUnavailable(f"quantization={quantization} needs the bitsandbytes package: {exc}") from exc
    if quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute_dtype,
    )


@one_load_at_a_time
def load_tokenizer(source: str):
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"Could not load the tokenizer of {source}: {exc}") from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"  # batched generation continues every row from its last real token
    return tokenizer


@one_load_at_a_time
def load_base_model(source: str, device: str, quantization: str = "none"):
    """The base causal LM on `device` (fp32 on CPU, bf16/fp16 on CUDA, or 8/4-bit)."""
    import torch
    from transformers import AutoModelForCausalLM

    dtype = _dtype_for(device)
    kwargs: dict = {"dtype": dtype}
    qconfig = quantization_config(quantization, device, dtype)
    if qconfig is not None:
        kwargs.update(quantization_config=qconfig, device_map="auto")
    elif device == "cuda":
        kwargs["device_map"] = "auto"
    try:
        model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
    except torch.cuda.OutOfMemoryError as exc:
        raise ModelOutOfMemory(
            f"{source} does not fit in GPU memory with quantization={quantization}; try 4bit, a smaller model, "
            "or free the GPU"
        ) from exc
    except MemoryError as exc:
        raise ModelOutOfMemory(f"{source} does not fit in RAM on {device}") from exc
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(
            f"Could not load the base model {source}: {exc}. Hub ids must already be in the local cache "
            "(downloads are off); otherwise point llm_base at a local directory."
        ) from exc
    if qconfig is None and device == "cpu":
        model.to("cpu")
    model.eval()
    return model


def adapter_base_info(adapter_dir: Path) -> dict:
    """What the adapter says about the base it was trained on."""
    info: dict = {}
    cfg = Path(adapter_dir) / "adapter_config.json"
    if cfg.exists():
        info["base_model_name_or_path"] = json.loads(cfg.read_text()).get("base_model_name_or_path")
    prov = Path(adapter_dir) / PROVENANCE_FILE
    if prov.exists():
        info.update(json.loads(prov.read_text()).get("base", {}))
    return info


def _check_recorded_base(model, adapter_dir: Path, info: dict, base_name: str) -> None:
    """The base our trainer recorded (architecture and sizes) must be the one loaded: a LoRA for a 24-layer model
    attaches to a 30-layer one without any shape error, and answers nonsense."""
    cfg = getattr(model, "config", None)
    if cfg is None:
        return
    loaded = {"architecture": type(model).__name__, "hidden_size": getattr(cfg, "hidden_size", None),
              "num_hidden_layers": getattr(cfg, "num_hidden_layers", None), "vocab_size": getattr(cfg, "vocab_size", None)}
    for key, here in loaded.items():
        want = info.get(key)
        if want is not None and here is not None and want != here:
            raise AdapterMismatch(f"The adapter in {adapter_dir} was trained for {base_name} ({key} {want}); "
                                  f"the loaded base model has {key} {here}.")


def check_adapter_fits(model, adapter_dir: Path) -> None:
    """Raise AdapterMismatch unless every LoRA matrix attaches to a module of matching shape."""
    from safetensors import safe_open

    weights = Path(adapter_dir) / "adapter_model.safetensors"
    if not weights.exists():
        return  # .bin adapters: peft reports mismatches itself on load
    modules = dict(model.named_modules())
    info = adapter_base_info(adapter_dir)
    base_name = info.get("base_model_name_or_path") or info.get("model_id") or "another base model"
    _check_recorded_base(model, adapter_dir, info, base_name)
    with safe_open(str(weights), framework="pt") as fh:
        for key in fh.keys():
            if ".lora_A." not in key and ".lora_B." not in key:
                continue
            path = key.split(".lora_")[0]
            if path.startswith("base_model.model."):
                path = path[len("base_model.model."):]
            module = modules.get(path)
            shape = fh.get_slice(key).get_shape()
            if module is None or not hasattr(module, "in_features"):
                raise AdapterMismatch(
                    f"The adapter in {adapter_dir} was trained for {base_name}: it adapts '{path}', "
                    "which this base model does not have."
                )
            if (".lora_A." in key and shape[1] != module.in_features) or (
                ".lora_B." in key and shape[0] != module.out_features
            ):
                raise AdapterMismatch(
                    f"The adapter in {adapter_dir} was trained for {base_name}: '{path}' has shape "
                    f"{module.in_features}->{module.out_features} here but the adapter expects another size."
                )


@one_load_at_a_time
def attach_adapter(model, adapter: str, merge: bool = False):
    """PeftModel on top of `model` (merged into the weights when `merge`)."""
    from peft import PeftModel

    path = Path(adapter)
    if path.exists():
        if not (path / "adapter_config.json").exists():
            raise ModelUnavailable(f"{path} has no adapter_config.json; it is not a LoRA adapter directory")
        check_adapter_fits(model, path)
    elif adapter.startswith((".", "/")) or "/" not in adapter:
        raise ModelUnavailable(f"LoRA adapter not found: {adapter}")
    try:
        peft_model = PeftModel.from_pretrained(model, adapter, is_trainable=False)
    except RuntimeError as exc:
        if "size mismatch" in str(exc):
            raise AdapterMismatch(f"The adapter {adapter} does not fit this base model: {exc}") from exc
        raise
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"Could not load the LoRA adapter {adapter}: {exc}") from exc
    peft_model.eval()
    return peft_model.merge_and_unload() if merge else peft_model


# bitsandbytes (imported by peft when it is installed) logs this on CPUs with AVX512-BF16 when the optional
# `kernels` package is absent. It only means an optional faster 4-bit kernel is unavailable; the embedded model
# runs in full precision on CPU and never uses it. Dropped narrowly: that logger, that message only.
BNB_CPU_LOGGER = "bitsandbytes.backends.cpu.ops"
BNB_KERNELS_MESSAGE = "Failed to load CPU gemm_4bit_forward"


class _DropKernelsNotice:
    def filter(self, record) -> bool:
        return not str(record.msg).startswith(BNB_KERNELS_MESSAGE)


def quiet_optional_kernels_notice() -> None:
    """Install the filter on bitsandbytes' CPU logger once (before peft/bitsandbytes are imported)."""
    import logging

    log = logging.getLogger(BNB_CPU_LOGGER)
    if not any(isinstance(f, _DropKernelsNotice) for f in log.filters):
        log.addFilter(_DropKernelsNotice())


@one_load_at_a_time
def load_llm(settings, *, adapter: str | None = None, merge: bool | None = None) -> LLM:
    """Load base + adapter as the settings say (`adapter`/`merge` override them; adapter="" for none)."""
    quiet_optional_kernels_notice()

    device = resolve_device(settings.device)
    if settings.quantization != "none":
        quantization_config(settings.quantization, device, None)  # fail before any slow work
    model_id, source = resolve_base(settings)
    tokenizer = load_tokenizer(source)
    model = load_base_model(source, device, settings.quantization)
    adapter = settings.llm_adapter if adapter is None else adapter
    merge = settings.llm_merge_adapter if merge is None else merge
    notes: list[str] = []
    a_hash = ""
    trained: set | None = None
    shift: dict = {}
    weak: dict = {}
    reliable: set = set()
    if adapter:
        if Path(adapter).exists():
            a_hash = adapter_hash(Path(adapter))
            prov = Path(adapter) / PROVENANCE_FILE
            if prov.exists():
                info = json.loads(prov.read_text())
                trained = set(info.get("examples_per_task", {})) or None
                shift = prior_shift_from(info.get("label_priors", {}))
            weak = weak_tasks_from(Path(adapter) / EVALUATION_FILE)
            reliable = reliable_tasks_from(Path(adapter) / EVALUATION_FILE)
        else:
            a_hash = hashlib.sha256(adapter.encode()).hexdigest()
        model = attach_adapter(model, adapter, merge=merge)
    return LLM(
        model=model, tokenizer=tokenizer, model_id=model_id, adapter_id=adapter or "", adapter_hash=a_hash,
        device=device, dtype=str(_dtype_for(device)).replace("torch.", ""), quantization=settings.quantization,
        merged=bool(adapter and merge), notes=notes, max_new_tokens=settings.max_new_tokens, trained_tasks=trained,
        prior_shift=shift, weak_tasks=weak, reliable_tasks=reliable,
    )


# A label source that ranks posts below this AUROC (0.5 = chance) is not trusted, whatever its F1.
MIN_AUROC = 0.65


def _read_evaluation(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"{path} is unreadable: {exc}") from exc


def weak_tasks_from(path: Path) -> dict:
    """{task: sentence} for every task of a dataset where the recorded evaluation did not beat both baselines,
    ranked posts at a margin AUROC below MIN_AUROC, or (several labels) has no ranking measure at all."""
    out = {}
    for name, d in (_read_evaluation(path).get("datasets") or {}).items():
        reasons = []
        if d.get("beats_both_baselines") is False:
            baselines = "; ".join(f"{label} {d[key]:.2f}" for key, label in (
                ("majority", "majority class"), ("base_scored", "base model")) if key in d)
            reasons.append(f"its labels did not beat the baselines (weighted F1 {d['adapted_scored']:.2f}; "
                           f"{baselines})")
        auroc = d.get("adapted_margin_auroc")
        if auroc is not None and auroc < MIN_AUROC:
            reasons.append(f"it ranked posts at AUROC {auroc:.2f}, close to chance (0.50)")
        elif auroc is None and d.get("beats_both_baselines") is not None:
            reasons.append("whether it ranks posts at all was not measured (no AUROC recorded)")
        if reasons:
            for task in d.get("tasks", []):
                out[task] = (f"On the IMHI {name} test set ({d.get('n')} posts) " + " and ".join(reasons)
                             + ": treat its label as unreliable.")
    return out


def reliable_tasks_from(path: Path) -> set:
    """Tasks whose recorded evaluation beats both baselines and ranks posts at AUROC >= MIN_AUROC."""
    out: set = set()
    for d in (_read_evaluation(path).get("datasets") or {}).values():
        auroc = d.get("adapted_margin_auroc")
        if d.get("beats_both_baselines") is True and auroc is not None and auroc >= MIN_AUROC:
            out.update(d.get("tasks", []))
    return out


def prior_shift_from(priors: dict) -> dict:
    """log(natural / trained) per task and label; labels missing from either side get no shift."""
    import math

    out: dict = {}
    for task, stats in priors.items():
        nat, tr = stats.get("natural", {}), stats.get("trained", {})
        shift = {k: math.log(nat[k] / tr[k]) for k in nat if nat.get(k) and tr.get(k)}
        if shift:
            out[task] = shift
    return out


def context_length(llm: LLM) -> int:
    cfg = getattr(llm.model, "config", None)
    n = getattr(cfg, "max_position_embeddings", None) or getattr(llm.tokenizer, "model_max_length", 2048)
    return int(min(n, 1_000_000))
