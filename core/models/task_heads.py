"""IMHI task heads: one small classifier per IMHI question on the encoder's pooled embedding.

The encoder backbone that feeds the five psychosocial heads (same pooling, same
windows of ``max_length`` tokens for long notes) also feeds one linear softmax
classifier per IMHI question: depression (DR), stress (dreaddit), stress cause
(SAD, 9 classes), the two interpersonal risks (Irf) and the six wellness
dimensions (MultiWD). A note's embedding is the mean of its windows' pooled
embeddings weighted by window length; since a head is linear, that is the
window-weighted mean of its logits. Probabilities are ``softmax(logits / T)``
with the temperature ``T`` fitted on a held-out split (calibration).

A version folder ``v{YYYYMMDD_HHMMSS}/`` holds ``config.json`` (backbone
identity, pooling, window length, label order and temperature per head, sha256
of the weights), ``task_heads.safetensors`` (``<task>.weight`` [labels, hidden]
and ``<task>.bias`` [labels]) and ``metrics.json``; ``LATEST`` names the version
to load (core/models/registry.py). Nothing is unpickled. Loading refuses a
folder trained on another backbone (TaskHeadsBackboneMismatch) and a damaged
one (CorruptCheckpoint), loading nothing.

Evidence: ``occlusion`` ranks the note's sentences by how much deleting each
one lowers the probability of the chosen label — faithful by construction,
since it is measured on the very model that gave the label. A sentence is
deleted from the windows it lies in (other windows keep their tokens), so a
long note costs a few window passes per sentence, all in one batched pass.

No torch at import time: the heavy parts import it inside the functions.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import CorruptCheckpoint, EmptyNote, NoTrainedHeads, TaskHeadsBackboneMismatch, TaskHeadsUnavailable
from core.llm.answers import INJECTION_RE
from core.llm.evidence import split_sentences
from core.models import registry

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "task_heads.safetensors"
METRICS_FILE = "metrics.json"
EVALUATION_FILE = "evaluation.json"
FORMAT = 1
# IMHI dataset -> the tasks it trains (the Irf and MultiWD files mix several questions)
TASK_HEAD_DATASETS: dict[str, tuple[str, ...]] = {
    "DR": ("depression",),
    "dreaddit": ("stress",),
    "SAD": ("stress_cause",),
    "Irf": ("irf_thwarted_belongingness", "irf_perceived_burdensomeness"),
    "MultiWD": tuple(f"wellness_{d}" for d in ("spiritual", "physical", "intellectual", "social", "vocational",
                                                "emotional")),
}
HEADED_TASKS = frozenset(t for tasks in TASK_HEAD_DATASETS.values() for t in tasks)
ECE_BINS = 10
EVIDENCE_TOP = 3


@dataclass
class TaskHead:
    task: str
    labels: tuple[str, ...]
    weight: np.ndarray      # [labels, hidden]
    bias: np.ndarray        # [labels]
    temperature: float = 1.0

    def logits(self, emb: np.ndarray) -> np.ndarray:
        """Uncalibrated logits, [n, labels], of note embeddings [n, hidden]."""
        return np.asarray(emb, dtype=np.float64) @ self.weight.T.astype(np.float64) + self.bias.astype(np.float64)

    def probabilities(self, emb: np.ndarray, *, calibrated: bool = True) -> np.ndarray:
        z = self.logits(emb) / (self.temperature if calibrated else 1.0)
        return softmax(z)


@dataclass
class TaskHeads:
    """A loaded task-heads version. Build it with load_task_heads()."""

    version: str
    path: Path
    config: dict
    heads: dict[str, TaskHead]
    metrics: dict = field(default_factory=dict)
    evaluation: dict = field(default_factory=dict)

    @property
    def model_id(self) -> str:
        return f"task-heads:{self.config.get('backbone_id', '')}"

    @property
    def tasks(self) -> list[str]:
        return list(self.heads)

    def has(self, task: str) -> bool:
        return task in self.heads


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def expected_calibration_error(probs: np.ndarray, gold: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE of the top label: |accuracy - confidence| averaged over equal-width confidence bins, by bin size."""
    probs = np.asarray(probs, dtype=np.float64)
    gold = np.asarray(gold)
    return top_label_ece(probs.max(axis=1), (probs.argmax(axis=1) == gold).astype(np.float64), bins)


def top_label_ece(conf: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE from each top label's confidence and whether it was right (equal-width bins, weighted by bin size)."""
    conf = np.asarray(conf, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        sel = (conf > lo) & (conf <= hi) if lo > 0 else (conf >= lo) & (conf <= hi)
        if sel.any():
            ece += sel.mean() * abs(correct[sel].mean() - conf[sel].mean())
    return float(ece)


def fit_temperature(logits: np.ndarray, gold: np.ndarray) -> float:
    """Temperature minimising the negative log-likelihood of held-out labels (golden-section search on log T)."""
    logits = np.asarray(logits, dtype=np.float64)
    gold = np.asarray(gold)

    def nll(log_t: float) -> float:
        p = softmax(logits / math.exp(log_t))
        return float(-np.log(np.clip(p[np.arange(len(gold)), gold], 1e-12, None)).mean())

    lo, hi = math.log(0.05), math.log(20.0)
    ratio = (math.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = nll(a), nll(b)
    for _ in range(80):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = nll(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = nll(b)
    return float(math.exp((lo + hi) / 2))


# ----------------------------------------------------------------------------- identity and storage

def encoder_identity(encoder) -> dict:
    """What the task heads must be loaded on: the backbone as the encoder runs it, its pooling and window length."""
    from core.models.checkpoint import backbone_fingerprint

    return {"backbone_id": encoder.backbone_id, "backbone_fingerprint": backbone_fingerprint(encoder.model.backbone),
            "pooling": encoder.model.pooling, "max_length": encoder.max_length,
            "hidden_size": int(encoder.model.backbone.config.hidden_size)}


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_version(folder: Path, identity: dict, heads: dict[str, TaskHead], extra: dict, metrics: dict) -> None:
    """Write a complete version into `folder` (weights first, config.json last: it marks the version complete)."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for name, h in heads.items():
        tensors[f"{name}.weight"] = np.ascontiguousarray(h.weight, dtype=np.float32)
        tensors[f"{name}.bias"] = np.ascontiguousarray(h.bias, dtype=np.float32)
    save_file(tensors, str(folder / WEIGHTS_FILE))
    (folder / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    config = {"format": FORMAT, **identity,
              "heads": {name: {"labels": list(h.labels), "temperature": h.temperature} for name, h in heads.items()},
              "weights_sha256": _file_sha256(folder / WEIGHTS_FILE), **extra}
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def read_config(folder: Path) -> dict:
    try:
        config = json.loads((Path(folder) / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CorruptCheckpoint(f"Task-heads checkpoint {folder} has no readable {CONFIG_FILE}: {exc}") from exc
    if not isinstance(config, dict) or not isinstance(config.get("heads"), dict):
        raise CorruptCheckpoint(f"Task-heads checkpoint {folder}: {CONFIG_FILE} lists no heads")
    return config


def _read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise CorruptCheckpoint(f"{path} is unreadable: {exc}") from exc


def check_identity(config: dict, identity: dict, where: str) -> None:
    """TaskHeadsBackboneMismatch when the heads were trained on another backbone, pooling or window length."""
    for key, what in (("backbone_id", "backbone"), ("backbone_fingerprint", "backbone weights"),
                      ("pooling", "pooling"), ("max_length", "window length")):
        if config.get(key) != identity.get(key):
            raise TaskHeadsBackboneMismatch(
                f"Task heads {where} were trained for {what} {config.get(key)!r} but the loaded encoder has "
                f"{identity.get(key)!r} (backbone {identity.get('backbone_id')}); train task heads for this "
                f"backbone with `python -m core train-task-heads` or point task_heads_dir at matching ones")


def load_version(folder: Path, identity: dict) -> TaskHeads:
    """Load one version folder after checking it fits the encoder `identity`; nothing is loaded on any error."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    folder = Path(folder)
    config = read_config(folder)
    check_identity(config, identity, folder.name)
    weights = folder / WEIGHTS_FILE
    try:
        digest = _file_sha256(weights)
    except OSError as exc:
        raise CorruptCheckpoint(f"Task-heads checkpoint {folder.name} has no readable {WEIGHTS_FILE}: {exc}") from exc
    if config.get("weights_sha256") and digest != config["weights_sha256"]:
        raise CorruptCheckpoint(f"Task-heads checkpoint {folder.name}: {WEIGHTS_FILE} does not match the hash "
                                f"recorded in {CONFIG_FILE} (damaged or edited); retrain or restore it")
    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CorruptCheckpoint(f"Task-heads checkpoint {folder.name}: {WEIGHTS_FILE} is unreadable: {exc}") from exc
    hidden = int(identity["hidden_size"])
    heads = {}
    for name, spec in config["heads"].items():
        labels = tuple(spec.get("labels") or ())
        w, b = tensors.get(f"{name}.weight"), tensors.get(f"{name}.bias")
        temperature = spec.get("temperature")
        if (w is None or b is None or w.shape != (len(labels), hidden) or b.shape != (len(labels),)
                or len(labels) < 2 or not isinstance(temperature, (int, float)) or not temperature > 0
                or not np.isfinite(w).all() or not np.isfinite(b).all()):
            raise CorruptCheckpoint(f"Task-heads checkpoint {folder.name}: head {name!r} has missing or "
                                    f"ill-shaped weights for labels {list(labels)} and hidden size {hidden}")
        heads[name] = TaskHead(name, labels, w, b, float(temperature))
    return TaskHeads(version=folder.name, path=folder, config=config, heads=heads,
                     metrics=_read_json(folder / METRICS_FILE), evaluation=_read_json(folder / EVALUATION_FILE))


def load_task_heads(settings, encoder) -> TaskHeads:
    """The task-heads version named by settings, checked against the loaded encoder (in-process only)."""

    if getattr(encoder, "model", None) is None:  # no backbone in this process (a remote encoder server)
        raise TaskHeadsUnavailable("Task heads run on the in-process encoder; with encoder_url set, labels come "
                                   "from the language model")
    folder = Path(settings.task_heads_dir)
    try:
        version = registry.resolve_version(folder, settings.task_heads_version)
    except NoTrainedHeads as exc:
        raise TaskHeadsUnavailable(f"No task heads to load: {exc} (task heads are trained with "
                                   f"`python -m core train-task-heads`)") from exc
    return load_version(folder / version, encoder_identity(encoder))


# ----------------------------------------------------------------------------- scoring

def _note_embeddings(pooled, owner: list[int], weight: list[int], n: int) -> np.ndarray:
    """Window-length-weighted mean of window embeddings per text, [n, hidden]."""
    import torch

    owner_t = torch.tensor(owner)
    w_t = torch.tensor(weight, dtype=torch.float32)
    out = torch.zeros((n, pooled.shape[1]), dtype=torch.float32)
    out.index_add_(0, owner_t, pooled * w_t.unsqueeze(-1))
    totals = torch.zeros(n).index_add_(0, owner_t, w_t)
    return (out / totals.clamp(min=1.0).unsqueeze(-1)).numpy()


def embed_notes(encoder, texts: list[str], *, progress=None, use_cache: bool = True) -> np.ndarray:
    """Note embeddings the task heads read (one backbone pass per window, shared with the five heads)."""
    from core.models.encoder import window_embeddings

    if not texts:
        return np.zeros((0, int(encoder.model.backbone.config.hidden_size)), dtype=np.float32)
    with encoder._lock:
        pooled, owner, weight, _, _ = window_embeddings(encoder, texts, progress=progress, use_cache=use_cache)
    return _note_embeddings(pooled, owner, weight, len(texts))


def check_note(text) -> str:
    if not isinstance(text, str) or not text.strip():
        raise EmptyNote("The note is empty: there are no words for the task heads to read")
    return text


def reading_text(text: str) -> tuple[str, list[str]]:
    """The note as the task heads read it: sentences addressed to the model ("ignore previous instructions",
    "answer yes") are blanked out character for character (offsets keep pointing into the note), so a post
    cannot argue its own label. Returns (text, the sentences blanked)."""

    check_note(text)
    blanked = []
    chars = list(text)
    for sent, start, end in split_sentences(text):
        if INJECTION_RE.search(sent):
            blanked.append(sent)
            chars[start:end] = " " * (end - start)
    out = "".join(chars)
    if not out.strip():
        raise EmptyNote("The note holds only instructions addressed to the model: there is nothing clinical for "
                        "the task heads to read")
    return out, blanked


def label_result(heads: TaskHeads, task: str, probs: np.ndarray) -> dict:
    head = heads.heads[task]
    i = int(np.argmax(probs))
    return {"task": task, "label": head.labels[i], "label_probability": float(probs[i]),
            "probabilities": {lab: float(p) for lab, p in zip(head.labels, probs, strict=True)},
            "label_source": "task_head", "model_id": heads.model_id, "model_version": heads.version,
            "temperature": head.temperature}


def predict(heads: TaskHeads, encoder, text: str, tasks: list[str] | None = None) -> dict[str, dict]:
    """{task: label, calibrated probabilities, version} for one note (EmptyNote when it has no words)."""
    read, blanked = reading_text(text)
    names = [t for t in (tasks or heads.tasks) if heads.has(t)]
    emb = embed_notes(encoder, [read])
    out = {t: label_result(heads, t, heads.heads[t].probabilities(emb)[0]) for t in names}
    for r in out.values():
        r["ignored_instructions"] = blanked
    return out


def predict_many(heads: TaskHeads, emb: np.ndarray, task: str) -> np.ndarray:
    """Calibrated probabilities [n, labels] for precomputed note embeddings."""
    return heads.heads[task].probabilities(emb)


def cached_note_embeddings(encoder, texts: list[str], cache_dir: Path | None, *, progress=None) -> np.ndarray:
    """Note embeddings of many texts, cached on disk (safetensors) by backbone identity and texts."""
    ident = encoder_identity(encoder)
    h = hashlib.sha256(json.dumps(ident, sort_keys=True).encode())
    for t in texts:
        h.update(hashlib.sha256(t.encode("utf-8", "surrogatepass")).digest())
    path = Path(cache_dir) / "task-embeddings" / f"{h.hexdigest()[:32]}.safetensors" if cache_dir else None
    if path is not None and path.exists():
        from safetensors.numpy import load_file

        try:
            emb = load_file(str(path))["embeddings"]
            if emb.shape[0] == len(texts):
                return emb
        except Exception:  # noqa: BLE001 - a damaged cache file is recomputed, never trusted
            pass
    # one call: windows of all texts sorted by length into batches (little padding), progress per window
    emb = embed_notes(encoder, texts, progress=progress, use_cache=False).astype(np.float32)
    if path is not None:
        from safetensors.numpy import save_file

        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        save_file({"embeddings": emb}, str(tmp))
        tmp.replace(path)
    return emb


__all__ = ["TASK_HEAD_DATASETS", "TaskHead", "TaskHeads", "load_task_heads", "load_version", "predict",
           "embed_notes", "expected_calibration_error", "fit_temperature", "encoder_identity",
           "save_version", "check_note"]
