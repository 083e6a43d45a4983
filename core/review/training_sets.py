"""Exports of QA work: flags (de-identified CSV/JSONL) and training sets from corrections (real text, clinical lead only)."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field

from core.context import Context
from core.errors import ModelUnavailable, ValidationError
from core.llm import tasks as task_registry
from core.models.heads import HEADS
from core.review.items import DECISIONS, REASONS, _deid, _now, confidence_of
from core.safety.csvsafe import safe_cell
from core.storage import review as store_review

# ---------------------------------------------------------------- export
EXPORT_FORMATS = {
    "csv": "Flags with values, comments and corrections (CSV, safe to open in a spreadsheet)",
    "jsonl": "Flags with values, comments and corrections (JSON lines)",
    "heads": "Heads training set (real visit text): python -m core train --data",
    "lora": "LoRA training set in IMHI format (real visit text): python -m core train-lora --data",
}
FLAG_FORMATS = ("csv", "jsonl")
TRAINING_FORMATS = ("heads", "lora")
# Flags exports hold de-identified text only (reviewers'); training sets hold the real notes, so they need a
# role that may read every patient's notes anyway (the clinical lead).
EXPORT_PERMISSION = {"csv": "review.export", "jsonl": "review.export",
                     "heads": "review.export_training", "lora": "review.export_training"}
FLAG_COLUMNS = ["flag_id", "analysis_id", "round", "kind", "task", "model_id", "model_version", "prompt_version",
                "signoff", "reviewer", "decision", "reason", "reason_label", "severity", "comment", "model_label",
                "model_confidence", "model_scores", "corrected_label", "corrected_scores", "corrected_rationale",
                "created_at"]


@dataclass
class ExportResult:
    data: bytes
    filename: str
    mime: str
    rows: int
    skipped: dict[str, int] = field(default_factory=dict)


def export_formats(ctx: Context) -> list[str]:
    """The export formats the caller may use, in EXPORT_FORMATS order."""
    user = ctx.user
    return [f for f in EXPORT_FORMATS if user is not None and user.can(EXPORT_PERMISSION[f])]


def _flag_records(ctx: Context, decisions: tuple[str, ...]) -> list[dict]:
    """Decisions for the flags export; the reviewers' free text is de-identified (a note may quote the visit)."""
    out = []
    for r in store_review.export_flags(ctx.store, decisions=decisions):
        o = r["outputs"] or {}
        out.append({
            "flag_id": r["flag_id"], "analysis_id": r["analysis_id"], "round": r["round"], "kind": r["kind"],
            "task": r["task"], "model_id": r["model_id"], "model_version": r["model_version"],
            "prompt_version": r["prompt_version"], "signoff": r["signoff"], "reviewer": r["reviewer"],
            "decision": r["decision"], "reason": r["reason"], "reason_label": REASONS.get(r["reason"] or "", ""),
            "severity": r["severity"], "comment": _deid(r["comment"]),
            "model_label": o.get("label") if r["kind"] == "llm" else None,
            "model_confidence": confidence_of(r),
            "model_scores": {n: h.get("value") for n, h in (o.get("heads") or {}).items()} if r["kind"] == "heads"
            else None,
            "corrected_label": r["corrected_label"], "corrected_scores": r["corrected_scores"],
            "corrected_rationale": _deid(r["corrected_rationale"]), "created_at": r["created_at"],
        })
    return out


def _flags_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(FLAG_COLUMNS)
    for r in rows:
        w.writerow([safe_cell(json.dumps(r[c], ensure_ascii=False) if isinstance(r[c], dict) else r[c])
                    for c in FLAG_COLUMNS])
    return buf.getvalue()


def _final_verdicts(ctx: Context) -> list[dict]:
    """For each resolved item: the adjudication of its current round, else its reviewers' combined verdict.

    Combined: approve when every reviewer approved; a flag's corrections merged
    (corrected scores averaged per head, the label only when the reviewers who
    gave one agree, the latest corrected rationale). Items whose corrected labels
    conflict are left out until adjudicated.
    """
    out = []
    for item in store_review.resolved_items(ctx.store):
        adj = store_review.get_adjudication(ctx.store, item["analysis_id"], item["round"])
        if adj:
            out.append({**item, "decision": adj["decision"], "corrected_label": adj["corrected_label"],
                        "corrected_scores": adj["corrected_scores"],
                        "corrected_rationale": adj["corrected_rationale"]})
            continue
        ds = [d for d in store_review.item_decisions(ctx.store, item["analysis_id"], item["round"])
              if d["decision"] != "skip"]
        if not ds:
            continue
        flags = [d for d in ds if d["decision"] == "flag"]
        if not flags:
            out.append({**item, "decision": "approve", "corrected_label": None, "corrected_scores": None,
                        "corrected_rationale": None})
            continue
        labels = {d["corrected_label"] for d in flags if d["corrected_label"]}
        if len(labels) > 1:
            out.append({**item, "decision": "conflict"})
            continue
        scores: dict[str, list[float]] = defaultdict(list)
        for d in flags:
            for k, v in (d["corrected_scores"] or {}).items():
                scores[k].append(v)
        rationales = [d["corrected_rationale"] for d in flags if d["corrected_rationale"]]
        out.append({**item, "decision": "flag", "corrected_label": next(iter(labels), None),
                    "corrected_scores": {k: sum(v) / len(v) for k, v in scores.items()} or None,
                    "corrected_rationale": rationales[-1] if rationales else None})
    return out


def _heads_rows(verdicts: list[dict], include_approved: bool, skipped: dict) -> list[dict]:
    rows = []
    for v in verdicts:
        if v["kind"] != "heads":
            continue
        if v["decision"] == "conflict":
            skipped["conflicting corrections"] += 1
            continue
        if v["decision"] == "flag" and not v["corrected_scores"]:
            skipped["flagged without corrected scores"] += 1
            continue
        if v["decision"] == "approve" and not include_approved:
            continue
        model = v["outputs"].get("heads") or {}
        corrected = v["corrected_scores"] or {}
        row = {"text": v["visit_text"]}
        for spec in HEADS:
            # Heads the reviewer left uncorrected keep the model's value: the reviewer saw and accepted it.
            value = corrected.get(spec.name, (model.get(spec.name) or {}).get("value"))
            if value is not None and spec.kind == "binary":
                value = int(float(value) >= 0.5)  # the trainer reads 0/1; an accepted probability becomes its label
            row[spec.target_column] = None if value is None else value if spec.kind == "binary" else float(value)
        if any(row[s.target_column] is None for s in HEADS):
            skipped["missing head values"] += 1
            continue
        rows.append(row)
    return rows


def _lora_rows(verdicts: list[dict], include_approved: bool, skipped: dict) -> list[dict]:

    rows = []
    for v in verdicts:
        if v["kind"] != "llm":
            continue
        if v["decision"] == "conflict":
            skipped["conflicting corrections"] += 1
            continue
        if v["decision"] == "approve" and not include_approved:
            continue
        label = v.get("corrected_label") or v["outputs"].get("label")
        rationale = v.get("corrected_rationale") or (v["outputs"].get("rationale") if v["decision"] == "approve"
                                                     else None)
        if v["decision"] == "flag" and not v.get("corrected_rationale"):
            # The model's own rationale argues for the output the reviewer rejected: not a training target.
            skipped["flagged without corrected rationale"] += 1
            continue
        if not label or not rationale:
            skipped["no label or rationale"] += 1
            continue
        if v["task"] not in task_registry.TASKS:
            skipped[f"task {v['task']} not in the task registry"] += 1
            continue
        query, answer = _imhi_pair(task_registry, v["task"], v["visit_text"], label, rationale)
        rows.append({"query": query, "answer": answer})
    return rows


def _imhi_pair(task_registry, task: str, text: str, label: str, rationale: str) -> tuple[str, str]:
    """The IMHI query and gold answer, built by the task registry so trainer and exporter never drift."""
    spec = task_registry.TASKS[task]
    return spec.build_query(text), spec.answer(label, rationale)


def export(ctx: Context, fmt: str, *, jsonl: bool = False, include_approved: bool = False,
           decisions: tuple[str, ...] = ("flag",)) -> ExportResult:
    """Export review results.

    ``csv`` / ``jsonl`` (``review.export``, QA reviewers): the decisions (flags by
    default) with their reason, severity, comment and corrections; no visit text, and
    comments and corrected rationales de-identified. ``heads`` / ``lora``
    (``review.export_training``, clinical leads): training sets built from resolved
    items' final corrections with the real visit text, in exactly the format the
    trainers read (``jsonl=True`` for JSON lines instead of CSV).
    """
    if fmt not in EXPORT_FORMATS:
        raise ValidationError(f"Unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}.")
    ctx.require(EXPORT_PERMISSION[fmt])
    bad = set(decisions) - set(DECISIONS)
    if bad:
        raise ValidationError(f"Unknown decision {', '.join(sorted(bad))}.")
    stamp = _now().strftime("%Y%m%d-%H%M")
    skipped: dict[str, int] = defaultdict(int)
    if fmt in FLAG_FORMATS:
        rows = _flag_records(ctx, tuple(decisions))
        if fmt == "csv":
            data, mime = _flags_csv(rows), "text/csv"
        else:
            data, mime = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "application/jsonl"
        result = ExportResult(data.encode("utf-8"), f"review-flags-{stamp}.{fmt}", mime, len(rows))
    else:
        verdicts = _final_verdicts(ctx)
        if fmt == "heads":
            rows = _heads_rows(verdicts, include_approved, skipped)
            columns = ["text", *[s.target_column for s in HEADS]]
        else:
            try:
                rows = _lora_rows(verdicts, include_approved, skipped)
            except ImportError as exc:
                raise ModelUnavailable("The task registry (core.llm.tasks) is not installed; cannot build "
                                       "IMHI queries.") from exc
            columns = ["query", "answer"]
        ext = "jsonl" if jsonl else "csv"
        if jsonl:
            data, mime = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "application/jsonl"
        else:
            buf = io.StringIO()
            w = csv.writer(buf)
            # IMHI files name the answer column after the model that wrote the gold answers.
            w.writerow(["query", "gpt-3.5-turbo"] if fmt == "lora" else columns)
            for r in rows:
                w.writerow([r[c] for c in columns])
            data, mime = buf.getvalue(), "text/csv"
        result = ExportResult(data.encode("utf-8"), f"corrections-{fmt}-{stamp}.{ext}", mime, len(rows),
                              dict(skipped))
    ctx.audit("review.export", "review", fmt, format=fmt, jsonl=jsonl, rows=result.rows,
              include_approved=include_approved, decisions=list(decisions), skipped=result.skipped,
              contains_visit_text=fmt in TRAINING_FORMATS)
    return result


