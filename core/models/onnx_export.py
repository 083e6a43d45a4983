"""ONNX export of a heads version together with its backbone, and the onnxruntime scoring path.

The exported graph maps (input_ids, attention_mask) to (pooled embedding, head
values) with dynamic batch and sequence axes. It includes the backbone (tens to
hundreds of MB), so it is written under ``<cache_dir>/onnx/<version>/`` rather
than beside the small heads checkpoint. ``meta.json`` records which backbone
and heads it was built from; a stale export is refused at load time.
Uncertainty (MC dropout) is computed from the pooled output in the same way
for both runtimes, so only the deterministic part needs to match.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from core.errors import ModelUnavailable

TOLERANCE = 1e-4
CHECK_TEXTS = [
    "I have no friends and I spend every weekend alone.",
    "Client reports nightmares and flashbacks since the accident; strong support from family.",
    "ok",
    "My mom has bipolar disorder. " * 60,  # longer than one window
]


def onnx_dir(settings, version: str) -> Path:
    return Path(settings.cache_dir) / "onnx" / version


def _heads_digest(version_dir: Path) -> str:
    from core.models.encoder import HEADS_FILE

    return hashlib.sha256((version_dir / HEADS_FILE).read_bytes()).hexdigest()[:16]


def export(settings, version: str = "latest") -> dict:
    """Write model.onnx for a version and check it against PyTorch (max |diff| < 1e-4)."""
    import numpy as np
    import torch

    from core.models import registry as model_registry
    from core.models.encoder import load_checkpoint, score_texts
    from core.hardware import resolve_encoder_source

    heads_dir = Path(settings.heads_dir)
    version = model_registry.resolve_version(heads_dir, version)
    vdir = heads_dir / version
    model, tokenizer, config = load_checkpoint(vdir, resolve_encoder_source(config_backbone(vdir)))
    model.eval()
    out = onnx_dir(settings, version)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "model.onnx"
    sample = tokenizer(["a short example", "a somewhat longer example sentence for tracing"], padding=True,
                       return_tensors="pt")
    with torch.no_grad():
        torch.onnx.export(
            model, (sample["input_ids"], sample["attention_mask"]), str(path), dynamo=False, opset_version=17,
            input_names=["input_ids", "attention_mask"], output_names=["pooled", "values"],
            dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                          "pooled": {0: "batch"}, "values": {0: "batch"}})
    meta = {"version": version, "backbone_id": config["backbone_id"],
            "backbone_fingerprint": config.get("backbone_fingerprint"), "heads_digest": _heads_digest(vdir)}
    (out / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")

    # Check on whole scoring runs: same windows, same batching, both runtimes.
    from core.models.encoder import Encoder

    torch_enc = Encoder(model=model, tokenizer=tokenizer, version=version, backbone_id=config["backbone_id"],
                        device="cpu", config=config)
    onnx_enc = Encoder(model=model, tokenizer=tokenizer, version=version, backbone_id=config["backbone_id"],
                       device="cpu", config=config, runtime="onnx", onnx_session=_session(path))
    a, b = score_texts(torch_enc, CHECK_TEXTS), score_texts(onnx_enc, CHECK_TEXTS)
    diff = max(abs(x["heads"][h]["value"] - y["heads"][h]["value"]) for x, y in zip(a, b) for h in x["heads"])
    enc = tokenizer(CHECK_TEXTS, padding=True, truncation=True, max_length=int(config["max_length"]),
                    return_tensors="np")
    with torch.no_grad():
        pooled_t, _ = model(torch.from_numpy(enc["input_ids"]), torch.from_numpy(enc["attention_mask"]))
    pooled_o = onnx_enc.onnx_session.run(["pooled"], {"input_ids": enc["input_ids"].astype(np.int64),
                                                      "attention_mask": enc["attention_mask"].astype(np.int64)})[0]
    diff = max(diff, float(np.abs(pooled_t.numpy() - pooled_o).max()))
    if diff >= TOLERANCE:
        path.unlink(missing_ok=True)
        raise ModelUnavailable(f"ONNX export of {version} differs from PyTorch by {diff:.2e} (>= {TOLERANCE}); removed")
    meta["max_abs_diff"] = diff
    (out / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return {"path": str(path), "max_abs_diff": diff, "checked_texts": len(CHECK_TEXTS)}


def config_backbone(version_dir: Path) -> str:
    from core.models.encoder import read_checkpoint_config

    return read_checkpoint_config(version_dir)["backbone_id"]


def _session(path: Path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def open_session(settings, version: str, config: dict):
    """onnxruntime session for a version; ModelUnavailable (with the command to run) when missing or stale."""
    out = onnx_dir(settings, version)
    path, meta_path = out / "model.onnx", out / "meta.json"
    if not path.exists() or not meta_path.exists():
        raise ModelUnavailable(f"encoder_runtime is onnx but heads {version} have not been exported; "
                               f"run `python -m core export-onnx {version}`")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    vdir = Path(settings.heads_dir) / version
    if (meta.get("backbone_fingerprint") != config.get("backbone_fingerprint")
            or meta.get("heads_digest") != _heads_digest(vdir)):
        raise ModelUnavailable(f"The ONNX export of {version} was built from other weights; "
                               f"run `python -m core export-onnx {version}` again")
    try:
        return _session(path)
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ModelUnavailable(f"onnxruntime cannot open {path}: {exc}") from exc


def embed_with_onnx(session, seqs: list[list[int]], pad_id: int, *, batch_size: int = 32, progress=None):
    """Pooled embeddings through onnxruntime: the same length-sorted, dynamically padded batches as PyTorch."""
    import numpy as np
    import torch

    from core.models.encoder import pad_batch

    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    out = None
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        ids, mask = pad_batch([seqs[i] for i in idx], pad_id)
        pooled = session.run(["pooled"], {"input_ids": ids.numpy().astype(np.int64),
                                          "attention_mask": mask.numpy().astype(np.int64)})[0]
        if out is None:
            out = torch.empty((len(seqs), pooled.shape[1]), dtype=torch.float32)
        out[idx] = torch.from_numpy(pooled.astype(np.float32))
        if progress:
            progress(min(start + batch_size, len(order)), len(order))
    return out
