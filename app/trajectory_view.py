"""Trajectories: the 5 heads and chosen LLM task probabilities over visit dates, with alerts and narrative."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import resources, state
from app.indicators_view import render_trajectories as render_indicators
from app.score_style import describe
from app.widgets import DISCLAIMER, inert, provenance, trajectory_chart, visit_labels
from core.clinical import analysis
from core.clinical.family import family_history_mentions
from core.clinical.rationale_queue import generation_lock
from core.clinical.trends import NOT_TRENDS, latest_heads_per_visit, trends_from_analyses
from core.errors import CoreError
from core.models.heads import HEADS, get_head
from core.models.reliability import reliability


def render_trajectories(ctx, patient_id: int, visits: list[dict], analyses: list[dict], consent: bool,
                        indicators: dict | None = None) -> None:
    scored = latest_heads_per_visit(analyses)
    if not scored:
        st.info("No scored visits yet. Run the analysis on the Visits tab to see trajectories.")
        if indicators is not None:
            render_indicators(ctx, visits, indicators, analyses)
        return
    window = ctx.settings.trend_window
    trends = trends_from_analyses(analyses, window, ctx.settings.heads_dir)
    by_id = {v["id"]: v for v in visits}
    # "2026-11-30 (2)" where one date holds several visits: "compare 2026-11-30 and 2026-11-30" named neither
    label = dict(zip((v["id"] for v in visits), visit_labels([v["visit_date"] for v in visits])))
    for t in (t for t in trends if t.alert):
        st.warning(f"**{t.label}** {t.reason}.", icon=":material/trending_up:")
        if t.compare and all(i in by_id for i in t.compare):
            before, after = (by_id[i] for i in t.compare)
            with st.expander(f"Compare the notes of {label[before['id']]} and {label[after['id']]}",
                             icon=":material/compare:"):
                left, right = st.columns(2)
                for col, v in ((left, before), (right, after)):
                    col.markdown(f"**{label[v['id']]}** · {v['source']}")
                    col.text(v["text"])
    render_family_history(visits, analyses)

    def latest(t):
        if t.last is None:
            return "—"
        d = describe(get_head(t.head), t.last, None, rel.get(t.head))
        return f"{d['interval'].fmt(t.last)} · {d['band']}"

    def since(t):
        if t.change is None:
            return "—"
        if not t.change_significant:
            return "no change beyond the model's uncertainty"
        return f"{t.direction} (" + ("rose" if t.change > 0 else "fell") + ")"

    def trend(t):
        if t.slope_per_visit is None:
            return "—"
        return t.direction if t.alert or t.direction == "better" else "no steady change"

    rel = reliability(ctx.settings.heads_dir, scored[-1]["model_version"])
    table = pd.DataFrame([{
        "Signal": t.label,
        "Latest (band)": latest(t),
        "Since the previous visit": since(t),
        f"Over the last {window} visits": trend(t),
    } for t in trends])
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption("A change counts only when it exceeds the model's uncertainty and the heads' measured error and "
               "moves the score into a band of different concern. — : a trend needs at least three scored visits.")

    llm_tasks = sorted({a["task"] for a in analyses if a["kind"] == "llm"})
    overlay = {}
    if llm_tasks:
        c1, c2 = st.columns(2)
        task = c1.selectbox("Overlay an LLM task probability", ["(none)", *llm_tasks], key="traj_task")
        if task != "(none)":
            latest: dict = {}  # one answer per visit (the newest), as for the heads
            for a in analyses:
                if a["kind"] == "llm" and a["task"] == task:
                    latest[a["visit_id"]] = (a["visit_date"], a["outputs"].get("probabilities") or {})
            rows = sorted(latest.values(), key=lambda r: r[0])
            labels = sorted({k for _, p in rows for k in p})
            label = c2.selectbox("Label", labels, key="traj_label")
            overlay = {f"p({label})": ([d for d, _ in rows], [p.get(label) for _, p in rows])}
    versions = sorted({a["model_version"] for a in scored})
    if len(versions) > 1:
        st.warning(f"These scores come from different heads versions ({', '.join(versions)}); a change between "
                   "versions is not a change in the patient. Run *Analyse* on the Visits tab to re-score every "
                   "visit with the current version.", icon=":material/difference:")
    dates = [a["visit_date"] for a in scored]
    cols = st.columns(2)
    for i, spec in enumerate(h for h in HEADS if h.name not in NOT_TRENDS):
        values = [a["outputs"]["heads"][spec.name]["value"] for a in scored]
        stds = [a["outputs"]["heads"][spec.name].get("std", 0.0) for a in scored]
        with cols[i % 2]:
            st.plotly_chart(trajectory_chart(spec, dates, values, stds, rel.get(spec.name), overlay or None),
                            key=f"traj_{spec.name}", width="stretch")
    st.caption("Shaded bands are severity ranges, each point in its band's colour; error bars are 95% intervals, never "
               f"narrower than the heads' measured error. {DISCLAIMER}")
    if indicators is not None:
        render_indicators(ctx, visits, indicators, analyses)

    st.subheader("Symptom progression (language model)")
    stored = [a for a in analyses if a["kind"] == "progression"]
    if stored:
        out = stored[-1]["outputs"]
        st.markdown(f"**Trend: {out.get('trend', '—')}**")
        st.text(out.get("rationale", ""))
        provenance(stored[-1])
    if consent and ctx.user.can("analyses.run") and len(visits) >= 2:
        if st.button("Write the progression narrative" if not stored else "Refresh narrative", key="progression"):
            llm = resources.llm()
            if llm is not None:
                box = st.empty()
                pieces: list[str] = []

                def on_token(piece):
                    pieces.append(piece)
                    box.markdown(inert("".join(pieces)), unsafe_allow_html=True)

                try:
                    with st.spinner("Reading the visits in order…"), generation_lock:
                        analysis.run_progression(ctx, patient_id, llm, on_token=on_token)
                    st.rerun()
                except CoreError as exc:
                    state.show_error(exc)


def render_family_history(visits: list[dict], analyses: list[dict]) -> None:
    """Family history as a patient-level fact: the visits whose note mentions it, with the quoting sentence."""
    mentions = family_history_mentions(visits, analyses)
    with st.container(border=True):
        st.markdown("**Family history** (a fact mentioned in a note, not a trend)")
        if not mentions:
            st.caption("No scored note reads as mentioning a relative's mental illness, addiction or suicide.")
        for m in mentions:
            quote = f"“{m.quote}”" if m.quote else ("the model reads a family history here, but no sentence names "
                                                   "a relative's condition in so many words: check the note")
            how = "Mentioned" if m.likely else "Possibly mentioned (the model is uncertain)"
            st.markdown(f"- {how} in the note of **{m.visit_date}**: {quote}")
