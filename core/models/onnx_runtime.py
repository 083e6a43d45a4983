"""The onnxruntime scoring path: open a version's exported graph (refusing a stale one) and embed with it.

The build-time exporter is ``core.models.onnx_export``; this runtime side never imports it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from core.errors import ModelUnavailable
from core.models.checkpoint import HEADS_FILE, read_checkpoint_config
from core.models.windows import length_batches, pad_batch


def onnx_dir(settings, version: str) -> Path:
    return Path(settings.cache_dir) / "onnx" / version


def _heads_digest(version_dir: Path) -> str:
    return hashlib.sha256((version_dir / HEADS_FILE).read_bytes()).hexdigest()[:16]


def config_backbone(version_dir: Path) -> str:
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

    out = None
    done = 0
    for idx in length_batches([len(s) for s in seqs], batch_size):
        ids, mask = pad_batch([seqs[i] for i in idx], pad_id)
        pooled = session.run(["pooled"], {"input_ids": ids.numpy().astype(np.int64),
                                          "attention_mask": mask.numpy().astype(np.int64)})[0]
        if out is None:
            out = torch.empty((len(seqs), pooled.shape[1]), dtype=torch.float32)
        out[idx] = torch.from_numpy(pooled.astype(np.float32))
        done += len(idx)
        if progress:
            progress(done, len(seqs))
    return out
