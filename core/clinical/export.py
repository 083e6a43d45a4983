"""Patient summary export (Markdown, PDF, CSV of scores) with provenance."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from core import __version__
from core.clinical.access import patient_for
from core.clinical.provenance import DISCLAIMER, signer
from core.clinical.trends import trends_from_analyses
from core.context import Context
from core.models.heads import HEADS
from core.safety.crisis import detect_crisis
from core.safety.csvsafe import safe_cell
from core.storage import records


def _gather(ctx: Context, patient_id: int):
    ctx.require("export.patient")
    patient = patient_for(ctx, patient_id)
    visits = records.list_visits(ctx.store, patient_id)
    analyses = records.list_patient_analyses(ctx.store, patient_id)
    return patient, visits, analyses


def summary_markdown(ctx: Context, patient_id: int) -> str:
    text = _markdown(ctx, patient_id)
    ctx.audit("export.patient", "patient", patient_id, format="markdown")
    return text


def _markdown(ctx: Context, patient_id: int) -> str:
    patient, visits, analyses = _gather(ctx, patient_id)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"# Patient summary: {patient['pseudonym']}", "",
             f"Exported {now} by {ctx.user.username} · mhdash {__version__}" + (" · DEMO DATA" if ctx.demo else ""),
             "", f"> {DISCLAIMER}", ""]
    trends = trends_from_analyses(analyses, ctx.settings.trend_window, ctx.settings.heads_dir)
    if trends:
        lines += ["## Trajectory", "", "| Head | Latest | Change since last | Direction | Alert |",
                  "| --- | --- | --- | --- | --- |"]
        for t in trends:
            lines.append(f"| {t.label} | {'' if t.last is None else f'{t.last:.2f}'} | "
                         f"{'' if t.change is None else f'{t.change:+.2f}'} | {t.direction} | "
                         f"{t.reason if t.alert else ''} |")
        lines += ["", f"Newest heads result of each visit; trend test over the last {ctx.settings.trend_window} "
                  "scored visits.", ""]
    lines += ["## Visits", ""]
    by_visit: dict[int, list] = {}
    for a in analyses:
        by_visit.setdefault(a["visit_id"], []).append(a)
    for v in visits:
        crisis = detect_crisis(v["text"])
        lines.append(f"### {v['visit_date']}" + (" — CRISIS LANGUAGE: " + ", ".join(crisis.categories)
                                                   if crisis.flagged else ""))
        for a in by_visit.get(v["id"], []):
            prov = (f"model {a['model_id']} version {a['model_version']}"
                    + (f", prompt {a['prompt_version']}" if a["prompt_version"] else "")
                    + (f", signed by {signer(a)} {a['signed_at'][:16]}" if a["status"] == "signed" else ", draft"))
            if a["kind"] == "heads":
                scores = ", ".join(f"{h.label} {a['outputs']['heads'][h.name]['value']:.2f}"
                                   f"±{a['outputs']['heads'][h.name].get('std', 0):.2f}"
                                   for h in HEADS if h.name in a["outputs"]["heads"])
                lines.append(f"- Heads: {scores} ({prov})")
            elif a["kind"] == "llm":
                o = a["outputs"]
                p = (o.get("probabilities") or {}).get(o.get("label"))
                lines.append(f"- {a['task']}: **{o.get('label')}**" + (f" (p={p:.2f})" if p is not None else "")
                             + f" ({prov})")
                if o.get("rationale"):
                    lines.append(f"  - Rationale: {o['rationale'].strip()}")
            elif a["kind"] == "progression":
                lines.append(f"- Progression: {a['outputs'].get('trend')} — {a['outputs'].get('rationale', '')}"
                             f" ({prov})")
        lines.append("")
    return "\n".join(lines)


def scores_csv(ctx: Context, patient_id: int) -> str:
    patient, visits, analyses = _gather(ctx, patient_id)
    dates = {v["id"]: v["visit_date"] for v in visits}
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["pseudonym", "visit_date", "analysis_id", "kind", "task", "label", "probability",
                *[f"{h.name}" for h in HEADS], *[f"{h.name}_std" for h in HEADS],
                "model_id", "model_version", "prompt_version", "status", "signed_by", "signed_at"])
    for a in analyses:
        o = a["outputs"]
        heads = o.get("heads", {}) if a["kind"] == "heads" else {}
        label = o.get("label") if a["kind"] == "llm" else None
        prob = (o.get("probabilities") or {}).get(label) if label else None
        w.writerow([safe_cell(x) for x in [
            patient["pseudonym"], dates.get(a["visit_id"]), a["id"], a["kind"], a["task"], label, prob,
            *[heads.get(h.name, {}).get("value") for h in HEADS], *[heads.get(h.name, {}).get("std") for h in HEADS],
            a["model_id"], a["model_version"], a["prompt_version"], a["status"],
            signer(a) if a["status"] == "signed" else None, a["signed_at"]]])
    ctx.audit("export.patient", "patient", patient_id, format="csv")
    return buf.getvalue()


def summary_pdf(ctx: Context, patient_id: int) -> bytes:
    """The Markdown summary laid out as a PDF (DejaVu font when present for full Unicode)."""
    from pathlib import Path

    from fpdf import FPDF

    text = _markdown(ctx, patient_id)
    pdf = FPDF()
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    font = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if font.exists():
        pdf.add_font("DejaVu", "", str(font))
        pdf.set_font("DejaVu", size=10)
    else:
        pdf.set_font("Helvetica", size=10)
        text = text.encode("latin-1", "replace").decode("latin-1")
    for line in text.splitlines():
        size = 15 if line.startswith("# ") else 12 if line.startswith("## ") else 11 if line.startswith("### ") else 10
        pdf.set_font_size(size)
        pdf.multi_cell(0, 5 if size == 10 else 7, line.lstrip("#> ").replace("**", "") or " ",
                       new_x="LMARGIN", new_y="NEXT")
    data = bytes(pdf.output())
    ctx.audit("export.patient", "patient", patient_id, format="pdf")
    return data
