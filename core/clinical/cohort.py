"""Cohort views: per-patient status and trend arrows, and who needs attention.

A patient's status comes only from what is reliable: crisis language, open QA flags on their outputs, and a
worsening trend on a head whose recorded evaluation on real text is adequate (``core.models.reliability``:
external AUROC >= 0.70). The language model's "risk" task is never used: its evaluation says its labels
barely depend on the note. Outputs awaiting sign-off are listed but are not a reason for attention.
"""

from __future__ import annotations

from collections import defaultdict

from core.clinical.trends import arrow, latest_heads_per_visit, trends_from_analyses
from core.context import Context
from core.models.heads import HEADS
from core.models.reliability import reliability
from core.review.quality import quality_stats
from core.safety.crisis_state import patient_states
from core.storage import records, signoff

# Reasons, most urgent first; the status of a patient is the first that applies, or "none".
REASONS = ("crisis", "qa_flag", "worsening")


def _adequate_alerts(ctx: Context, trends, analyses: list[dict]) -> list[str]:
    """Labels of the heads with a worsening alert whose real-text evaluation is adequate."""
    series = latest_heads_per_visit(analyses)
    if not series:
        return []
    rel = reliability(ctx.settings.heads_dir, series[-1]["model_version"])
    return [t.label for t in trends if t.alert and rel.get(t.head) is not None and rel[t.head].adequate]


def _status(crisis: bool, qa_flags: int, worsening: list[str]) -> tuple[str, list[str]]:
    reasons = [r for r, on in zip(REASONS, (crisis, qa_flags > 0, bool(worsening))) if on]
    return (reasons[0] if reasons else "none"), reasons


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
    flagged = signoff.patients_with_current_flags(ctx.store, ids)
    # Crisis: any visit with a flag nobody on the care team has acknowledged, not only the latest note.
    states = patient_states(ctx.store, ids)
    analyses_by_patient: dict[int, list[dict]] = defaultdict(list)
    for pid in ids:
        analyses_by_patient[pid] = records.list_patient_analyses(ctx.store, pid)
    for row in rows:
        pid = row["id"]
        analyses = analyses_by_patient[pid]
        state = states.get(pid) or {}
        crisis = bool(state.get("unacknowledged"))
        row["crisis"] = crisis
        row["crisis_acknowledged"] = int(state.get("flagged") or 0) - int(state.get("unacknowledged") or 0)
        trends = trends_from_analyses(analyses, ctx.settings.trend_window, ctx.settings.heads_dir)
        row["trends"] = {t.head: {"arrow": arrow(t), "direction": t.direction, "alert": t.alert} for t in trends}
        row["alerts"] = [t.label for t in trends if t.alert]
        row["worsening"] = _adequate_alerts(ctx, trends, analyses)
        row["qa_flags"] = flagged.get(pid, 0)
        row["status"], row["reasons"] = _status(crisis, row["qa_flags"], row["worsening"])
        row["unsigned"] = sum(1 for a in analyses if a["status"] == "draft")
        row["analysed"] = any(a["kind"] == "heads" for a in analyses)  # trends are read from scored visits only


def overview(ctx: Context) -> dict:
    """Cohort-level figures for clinical leads: score distributions and patients needing attention."""
    ctx.require("cohort.read")

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
    states = patient_states(ctx.store, [r["id"] for r in rows])
    unsigned_counts = records.unsigned_by_patient(ctx.store)  # one query, not one per patient
    flagged = signoff.patients_with_current_flags(ctx.store, [r["id"] for r in rows])
    for r in rows:
        pid = r["id"]
        trends = trends_from_analyses(by_patient.get(pid, []), ctx.settings.trend_window, ctx.settings.heads_dir)
        worsening = _adequate_alerts(ctx, trends, by_patient.get(pid, []))
        crisis = bool((states.get(pid) or {}).get("unacknowledged"))
        unsigned = unsigned_counts.get(pid, 0)
        status, reasons = _status(crisis, flagged.get(pid, 0), worsening)
        if reasons:  # awaiting sign-off alone is work to do, not a reason for attention
            attention.append({"patient_id": pid, "pseudonym": r["pseudonym"], "status": status, "reasons": reasons,
                              "crisis": crisis, "qa_flags": flagged.get(pid, 0), "worsening": ", ".join(worsening),
                              "unsigned_outputs": unsigned, "last_visit": r["last_visit"]})
    attention.sort(key=lambda a: (REASONS.index(a["status"]), -len(a["reasons"]), -a["unsigned_outputs"]))
    flags = []
    if ctx.user.can("quality.read"):
        rates = quality_stats(ctx, freq="M").flag_rate
        flags = rates.to_dict("records") if len(rates) else []
    ctx.audit("cohort.read", "cohort", "", patients=len(rows))
    return {"patients": len(rows), "visits": records.count_visits(ctx.store), "latest_scores": latest_scores,
            "attention": attention, "flag_rates": flags}
