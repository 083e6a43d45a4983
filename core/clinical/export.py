"""Patient summary export (Markdown, PDF, CSV of scores) with provenance."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from core import __version__
from core.clinical import indicators, visit_indicators
from core.clinical.access import patient_for
from core.clinical.provenance import DISCLAIMER, signer
from core.clinical.trends import trends_from_analyses
from core.context import Context
from core.models.heads import HEADS, get_head
from core.models.reliability import interval, probability_phrase, reading, reliability
from core.safety.crisis_state import results_for
from core.safety.csvsafe import safe_cell
from core.storage import records


def _gather(ctx: Context, patient_id: int):
    ctx.require("export.patient")
    patient = patient_for(ctx, patient_id)
    visits = records.list_visits(ctx.store, patient_id)
    analyses = records.list_patient_analyses(ctx.store, patient_id)
    return patient, visits, analyses


def _head_text(spec, value, std, rel, *, label: bool = True) -> str:
    """A head score as the screen states it: the interval never narrower than the head's measured error, no finer
    digits than that error, and the band ("Trauma 2 (interval 1 to 4) · moderate"), never "2.07±0.01"."""
    name = f"{spec.label} " if label else ""
    if value is None:
        return f"{name}—"
    iv, idx = reading(spec.name, float(value), std, rel.test_error if rel else None)
    return f"{name}{iv.text} · {spec.bands[idx][1]}"


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
        newest = next((a["model_version"] for a in reversed(analyses) if a["kind"] == "heads"), None)
        rel = reliability(ctx.settings.heads_dir, newest)
        for t in trends:
            spec = get_head(t.head)
            iv = interval(t.head, t.last if t.last is not None else spec.low, None,
                          rel[t.head].test_error if t.head in rel else None)
            lines.append(f"| {t.label} | {'' if t.last is None else _head_text(spec, t.last, None, rel.get(t.head), label=False)}"
                         f" | {'' if t.change is None else ('+' if t.change > 0 else '') + iv.fmt(t.change)} | "
                         f"{t.direction} | {t.reason if t.alert else ''} |")
        lines += ["", f"Newest heads result of each visit; trend test over the last {ctx.settings.trend_window} "
                  "scored visits.", ""]
    found = visit_indicators.by_visit(ctx, patient_id, visits)
    lines += _indicator_lines(ctx, visits, found)
    lines += ["## Visits", ""]
    by_visit: dict[int, list] = {}
    for a in analyses:
        by_visit.setdefault(a["visit_id"], []).append(a)

    crisis_of = results_for(ctx.store, visits, consent=bool(patient["consent_ml"]))
    for v in visits:
        crisis = crisis_of[v["id"]]
        lines.append(f"### {v['visit_date']}" + (" — CRISIS LANGUAGE: " + ", ".join(crisis.categories)
                                                   if crisis.flagged else ""))
        if v["id"] in found:
            lines.append("- Indicators (word counts, no model): " + _indicator_cells(found[v["id"]]))
        for a in by_visit.get(v["id"], []):
            prov = (f"model {a['model_id']} version {a['model_version']}"
                    + (f", prompt {a['prompt_version']}" if a["prompt_version"] else "")
                    + (f", signed by {signer(a)} {a['signed_at'][:16]}" if a["status"] == "signed" else ", draft"))
            if a["kind"] == "heads":
                rel = reliability(ctx.settings.heads_dir, a["model_version"])
                scores = "; ".join(_head_text(h, a["outputs"]["heads"][h.name].get("value"),
                                              a["outputs"]["heads"][h.name].get("std"), rel.get(h.name))
                                   for h in HEADS if h.name in a["outputs"]["heads"])
                lines.append(f"- Heads: {scores} ({prov})")
            elif a["kind"] == "llm":
                o = a["outputs"]
                p = (o.get("probabilities") or {}).get(o.get("label"))
                lines.append(f"- {a['task']}: **{o.get('label')}**" + (f" (p {probability_phrase(p)})" if p is not None else "")
                             + f" ({prov})")
                if o.get("rationale"):
                    lines.append(f"  - Rationale: {o['rationale'].strip()}")
            elif a["kind"] == "emotion":
                probs = a["outputs"].get("probabilities") or {}
                lines.append(f"- Emotion per sentence (language model): **{a['outputs'].get('label')}** ("
                             + ", ".join(f"{k} {v:.2f}" for k, v in probs.items()) + f") ({prov})")
            elif a["kind"] == "progression":
                lines.append(f"- Progression: {a['outputs'].get('trend')} — {a['outputs'].get('rationale', '')}"
                             f" ({prov})")
        lines.append("")
    return "\n".join(lines)


def _indicator_cells(result: dict) -> str:
    cells = []
    for spec in indicators.INDICATORS:
        c = result["indicators"].get(spec.name) or {}
        if c.get("status") == "ok":
            cells.append(f"{spec.label} {c['value']:.2f}")
        else:
            cells.append(f"{spec.label} {c.get('status', '—').replace('_', ' ')}")
    emotion = result.get("emotion") or {}
    if emotion:
        cells.append("emotion " + " / ".join(f"{k} {v:.0%}" for k, v in emotion["share"].items() if v))
    return ", ".join(cells)


def _indicator_lines(ctx: Context, visits: list[dict], found: dict[int, dict]) -> list[str]:
    """The indicators' trend table (same rules as the heads), with where the reference band comes from."""
    if not found:
        return []
    ref = visit_indicators.reference(ctx.settings)
    lines = ["## Psycholinguistic indicators", "",
             "Rates per 100 words (valence: mean VADER compound, -1..1), counted in the note's words; no model.", "",
             "| Indicator | Latest | Change since last | Direction | Alert | Reference IQR |",
             "| --- | --- | --- | --- | --- | --- |"]
    bands = (ref or {}).get("indicators", {})
    for t in visit_indicators.trends(found, visits, ctx.settings.trend_window, ref):
        band = bands.get(t.head)
        iqr = f"{band['p25']:.2f}–{band['p75']:.2f}" if band else ""
        lines.append(f"| {t.label} | {'' if t.last is None else f'{t.last:.2f}'} | "
                     f"{'' if t.change is None else f'{t.change:+.2f}'} | {t.direction} | "
                     f"{t.reason if t.alert else ''} | {iqr} |")
    lines += ["", visit_indicators.reference_note(ref), ""]
    return lines


def scores_csv(ctx: Context, patient_id: int) -> str:
    patient, visits, analyses = _gather(ctx, patient_id)
    dates = {v["id"]: v["visit_date"] for v in visits}
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["pseudonym", "visit_date", "analysis_id", "kind", "task", "label", "probability",
                *[f"{h.name}" for h in HEADS], *[f"{h.name}_std" for h in HEADS],
                "model_id", "model_version", "prompt_version", "status", "signed_by", "signed_at",
                *[f"ind_{n}" for n in indicators.NAMES]])
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
    # One row per visit with its indicators (word counts: no model, nothing to sign); empty where not reported.
    found = visit_indicators.by_visit(ctx, patient_id, visits)
    for v in visits:
        if v["id"] in found:
            values = indicators.summary(found[v["id"]])
            w.writerow([safe_cell(x) for x in [
                patient["pseudonym"], v["visit_date"], None, "indicators", "indicators", None, None,
                *[None] * (2 * len(HEADS)), "word-lists", found[v["id"]].get("version"), None, None, None, None,
                *[values[n] for n in indicators.NAMES]]])
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
