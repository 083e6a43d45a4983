"""Every recorded evaluation of the shipped models, as rows for the Models page (files only, nothing loaded).

- heads: held-out test metrics and the training curve (``metrics.json`` of the active version), and the
  real-text checks (``external_evaluation.json``, written by ``evaluate-heads --record``);
- language model: the adapter's IMHI evaluation (``evaluation.json`` beside the adapter);
- task heads: every ``metrics.json`` / ``evaluation.json`` under ``data/models/task-heads`` when that folder exists.
"""

from __future__ import annotations

import json
from pathlib import Path

from core.context import Context
from core.models import registry as model_registry
from core.models.reliability import EXTERNAL_FILE, MIN_EXTERNAL_AUROC

# What the dataset names mean: shown only on the Models and Quality pages, never on clinical screens.
GLOSSARY = {
    "IMHI": "Interpretable Mental Health Instruction benchmark (MentaLLaMA): Reddit posts with labels and "
            "explanations for several tasks.",
    "DR": "IMHI depression detection: does the poster show depression?",
    "dreaddit": "IMHI Dreaddit: does the poster show stress?",
    "SAD": "IMHI Stress Annotated Dataset: the cause of the poster's stress.",
    "CAMS": "IMHI Causes of Mental health issues (depression causes) in posts.",
    "Irf": "IMHI interpersonal risk factors: thwarted belongingness, perceived burdensomeness.",
    "MultiWD": "IMHI multiple wellness dimensions: which wellness dimensions a post touches.",
    "T-SID / SWMH": "IMHI mental-disorder datasets: which disorder a post shows.",
    "counsel-chat": "Questions people asked licensed therapists online, filed by topic.",
    "AUROC": "How well a score ranks positives above negatives: 0.5 is chance, 1 perfect.",
    "weighted F1": "Agreement of predicted with true labels, averaged over labels weighted by their frequency "
                   "(0 to 1).",
    "MAE": "Mean absolute error, in the head's own units.",
}

_TEST_NAMES = {"mae": "mean absolute error", "f1": "F1", "auroc": "AUROC", "loss": "loss"}


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def heads_evaluation(settings) -> dict:
    heads_dir = Path(settings.heads_dir)
    versions = model_registry.list_versions(heads_dir) if heads_dir.exists() else []
    if not versions:
        return {"version": None, "test": [], "history": [], "external": [], "data": {}}
    version = model_registry.resolve_version(heads_dir, settings.heads_version)
    metrics = _read(heads_dir / version / "metrics.json")
    test = []
    for key, value in (metrics.get("test") or {}).items():
        if not isinstance(value, (int, float)) or key == "loss":
            continue
        kind, _, head = key.partition("_")
        test.append({"head": head or "all", "metric": _TEST_NAMES.get(kind, kind), "value": round(float(value), 3)})
    external = [{**c, "adequate": c.get("auroc", 0) >= MIN_EXTERNAL_AUROC}
                for c in _read(heads_dir / version / EXTERNAL_FILE).get("checks") or []]
    history = [{"epoch": h["epoch"], "train_loss": h.get("train_loss"), "val_loss": h.get("val_loss")}
               for h in metrics.get("history") or [] if "epoch" in h]
    return {"version": version, "test": test, "history": history, "external": external,
            "data": {**(metrics.get("data") or {}), "split": metrics.get("split") or {}}}


def llm_evaluation(settings) -> dict:
    adapter = settings.llm_adapter
    record = _read(Path(adapter) / "evaluation.json") if adapter else {}
    rows = []
    for name, d in (record.get("datasets") or {}).items():
        rows.append({"dataset": name, "tasks": ", ".join(d.get("tasks") or []), "n": d.get("n"),
                     "majority class": d.get("majority"), "base model": d.get("base_scored"),
                     "adapted model": d.get("adapted_scored"), "beats both baselines": d.get("beats_both_baselines")})
    return {"created_at": record.get("created_at"), "models": record.get("models") or {},
            "metric": record.get("metric"), "data": record.get("data_dir"), "limit": record.get("limit"),
            "datasets": rows}


def task_heads_evaluation(settings) -> list[dict]:
    root = Path(settings.heads_dir).parent / "task-heads"
    if not root.is_dir():
        return []
    out = []
    for path in sorted(list(root.rglob("metrics.json")) + list(root.rglob("evaluation.json"))):
        flat = {k: v for k, v in _read(path).items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)}
        if flat:
            out.append({"file": str(path.relative_to(root)), **flat})
    return out


def recorded_evaluations(ctx: Context) -> dict:
    """Every recorded evaluation of the configured models (for roles allowed to see models)."""
    ctx.require("models.read")
    return {"heads": heads_evaluation(ctx.settings), "llm": llm_evaluation(ctx.settings),
            "task_heads": task_heads_evaluation(ctx.settings), "glossary": GLOSSARY,
            "min_external_auroc": MIN_EXTERNAL_AUROC}
