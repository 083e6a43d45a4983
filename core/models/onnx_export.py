"""ONNX export of a heads version together with its backbone (build time; the runtime is ``onnx_runtime``).

The exported graph maps (input_ids, attention_mask) to (pooled embedding, head
values) with dynamic batch and sequence axes. It includes the backbone (tens to
hundreds of MB), so it is written under ``<cache_dir>/onnx/<version>/`` rather
than beside the small heads checkpoint. ``meta.json`` records which backbone
and heads it was built from; a stale export is refused at load time.
Uncertainty (MC dropout) is computed from the pooled output in the same way
for both runtimes, so only the deterministic part needs to match.
"""

from __future__ import annotations

import json
from pathlib import Path

from core.errors import ModelUnavailable
from core.hardware import resolve_encoder_source
from core.models import registry as model_registry
from core.models.onnx_runtime import _heads_digest, _session, config_backbone, onnx_dir

TOLERANCE = 1e-4
CHECK_TEXTS = [
    "I have no friends and I spend every weekend alone.",
    "Client reports nightmares and flashbacks since the accident; strong support from family.",
    "ok",
    "My mom has bipolar disorder. " * 60,  # longer than one window
]


def export(settings, version: str = "latest") -> dict:
    """Write model.onnx for a version and check it against PyTorch (max |diff| < 1e-4)."""
    import numpy as np
    import torch

    from core.models.checkpoint import load_checkpoint
    from core.models.encoder import score_texts

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


