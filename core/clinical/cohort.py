"""Cohort views: per-patient status lights and trend arrows, and who needs attention."""

from __future__ import annotations

from collections import defaultdict

from core.clinical.trends import arrow, trends_from_analyses
from core.context import Context
from core.models.heads import HEADS
from core.safety.crisis import detect_crisis
from core.storage import records

RISK_TASK = "risk"
LIGHTS = {"high": "red", "medium": "amber", "low": "green"}


def _latest_visit_texts(ctx: Context, patient_ids: list[int]) -> dict[int, dict]:
    out = {}
    for pid in patient_ids:
        visits = records.list_visits(ctx.store, pid)
        if visits:
            out[pid] = visits[-1]
    return out


def summarise_patients(ctx: Context, rows: list[dict]) -> None:
    """Add status light, crisis flag and per-head trend arrows to patient rows (in place)."""

    ids = [r["id"] for r in rows]
    latest = _latest_visit_texts(ctx, ids)
    analyses_by_patient: dict[int, list[dict]] = defaultdict(list)
    for pid in ids:
        analyses_by_patient[pid] = records.list_patient_analyses(ctx.store, pid)
    for row in rows:
        pid = row["id"]
        analyses = analyses_by_patient[pid]
        visit = latest.get(pid)
        crisis = bool(visit) and detect_crisis(visit["text"]).flagged
        risk = next((a for a in reversed(analyses) if a["kind"] == "llm" and a["task"] == RISK_TASK
                     and visit and a["visit_id"] == visit["id"]), None)
        risk_label = risk["outputs"].get("label") if risk else None
        row["crisis"] = crisis
        row["risk"] = risk_label
        row["status"] = "red" if crisis else LIGHTS.get(risk_label or "", "grey")
        trends = trends_from_analyses(analyses, ctx.settings.trend_window, ctx.settings.heads_dir)
        row["trends"] = {t.head: {"arrow": arrow(t), "direction": t.direction, "alert": t.alert} for t in trends}
        row["alerts"] = [t.label for t in trends if t.alert]
        row["unsigned"] = sum(1 for a in analyses if a["status"] == "draft")


def overview(ctx: Context) -> dict:
    """Cohort-level figures for clinical leads: score distributions and patients needing attention."""
    ctx.require("cohort.read")
    from core.clinical.trends import latest_heads_per_visit, trends_from_analyses

    heads_rows = records.latest_analyses_by_patient(ctx.store, "heads")
    by_patient: dict[int, list[dict]] = defaultdict(list)
    for a in heads_rows:
        by_patient[a["patient_id"]].append(a)
    latest_scores = []
    for pid, analyses in by_patient.items():
        last = latest_heads_per_visit(analyses)[-1]["outputs"]["heads"]
        latest_scores.append({"patient_id": pid, **{h.name: last[h.name]["value"] for h in HEADS if h.name in last}})
    attention = []
    rows, _ = records.list_patients(ctx.store, limit=100_000)
    latest = _latest_visit_texts(ctx, [r["id"] for r in rows])
    for r in rows:
        pid = r["id"]
        trends = trends_from_analyses(by_patient.get(pid, []), ctx.settings.trend_window, ctx.settings.heads_dir)
        worsening = [t.label for t in trends if t.alert]
        crisis = pid in latest and detect_crisis(latest[pid]["text"]).flagged
        unsigned = sum(1 for a in records.list_patient_analyses(ctx.store, pid) if a["status"] == "draft")
        if worsening or crisis or unsigned:
            attention.append({"patient_id": pid, "pseudonym": r["pseudonym"], "crisis": crisis,
                              "worsening": ", ".join(worsening), "unsigned_outputs": unsigned,
                              "last_visit": r["last_visit"]})
    attention.sort(key=lambda a: (not a["crisis"], -len(a["worsening"]), -a["unsigned_outputs"]))
    flags = []
    if ctx.user.can("quality.read"):
        from core.review.quality import quality_stats

        rates = quality_stats(ctx, freq="M").flag_rate
        flags = rates.to_dict("records") if len(rates) else []
    ctx.audit("cohort.read", "cohort", "", patients=len(rows))
    return {"patients": len(rows), "visits": records.count_visits(ctx.store), "latest_scores": latest_scores,
            "attention": attention, "flag_rates": flags}
