"""Closing the loop with QA on the clinician's side: what reviewers said about each output, sign-off with an
optional note, and superseding a signed output (never editing it) with the reason recorded.
"""

from __future__ import annotations

from core.clinical.access import patient_for, visit_for
from core.context import Context
from core.errors import ValidationError
from core.review.items import REASONS
from core.storage import records, signoff

MAX_NOTE = 2000


def _clean(text: str | None, what: str) -> str:
    text = (text or "").strip()
    if len(text) > MAX_NOTE:
        raise ValidationError(f"The {what} is {len(text)} characters long; keep it under {MAX_NOTE}.")
    return text


def supersede(ctx: Context, analysis_id: int, reason: str) -> dict:
    """Mark a signed output as superseded (it stays stored and visible, unchanged) and say why."""
    ctx.require("analyses.sign")
    row = records.get_analysis(ctx.store, analysis_id)
    visit_for(ctx, row["visit_id"], write=True)
    reason = _clean(reason, "reason")
    if not reason:
        raise ValidationError("Say why this signed output is superseded: the reason is kept with it.")
    if row["status"] != "signed":
        raise ValidationError("Only a signed output is superseded; a draft can simply be left unsigned.")
    if signoff.supersessions(ctx.store, [analysis_id]):
        raise ValidationError("This output is already superseded.")
    with ctx.store.tx(durable=True):
        signoff.insert_supersession(ctx.store, analysis_id, ctx.user.id, reason)
        ctx.audit("analysis.supersede", "analysis", analysis_id, reason=reason, model_id=row["model_id"],
                  model_version=row["model_version"], before="signed", after="superseded")
    return signoff.supersessions(ctx.store, [analysis_id])[analysis_id]


def _flag_view(f: dict, superseded: dict | None) -> dict:
    if superseded:
        state = "resolved"
        resolution = f"output superseded by {superseded['username']}: {superseded['reason']}"
    elif f["item_round"] and f["round"] < f["item_round"]:
        state = "resolved"
        resolution = "sent back for a new review round"
    else:
        state = "open"
        resolution = "review in progress" if f["item_status"] != "resolved" else "review complete"
    correction = []
    if f.get("corrected_label"):
        correction.append(f"label should be {f['corrected_label']!r}")
    if f.get("corrected_scores"):
        correction.append("scores should be " + ", ".join(f"{k} {v:g}" for k, v in f["corrected_scores"].items()
                                                            if v is not None))
    if f.get("corrected_rationale"):
        correction.append(f"rationale: {f['corrected_rationale']}")
    return {"id": f["id"], "analysis_id": f["analysis_id"], "state": state, "resolution": resolution,
            "reason": REASONS.get(f["reason"], f["reason"] or "—"), "severity": f["severity"] or "—",
            "comment": f["comment"] or "", "correction": "; ".join(correction), "reviewer": f["reviewer"],
            "created_at": f["created_at"]}


def qa_feedback(ctx: Context, patient_id: int) -> dict[int, dict]:
    """Per output of a patient: its QA flags (open or resolved, reason, severity, the reviewer's correction)
    and its supersession, for the clinician who reads the output."""
    patient_for(ctx, patient_id)
    ids = [a["id"] for a in records.list_patient_analyses(ctx.store, patient_id)]
    gone = signoff.supersessions(ctx.store, ids)
    out: dict[int, dict] = {i: {"flags": [], "superseded": gone.get(i)} for i in ids}
    for f in signoff.flags_on(ctx.store, ids):
        out[f["analysis_id"]]["flags"].append(_flag_view(f, gone.get(f["analysis_id"])))
    return {i: v for i, v in out.items() if v["flags"] or v["superseded"]}
