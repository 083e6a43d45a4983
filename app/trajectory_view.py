"""Trajectories: the 5 heads and chosen LLM task probabilities over visit dates, with alerts and narrative."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import resources, state
from app.widgets import DISCLAIMER, provenance, trajectory_chart
from core.clinical import analysis
from core.clinical.trends import latest_heads_per_visit, trends_from_analyses
from core.errors import CoreError
from core.models.heads import HEADS
from core.models.reliability import reliability


def render_trajectories(ctx, patient_id: int, visits: list[dict], analyses: list[dict], consent: bool) -> None:
    scored = latest_heads_per_visit(analyses)
    if not scored:
        st.info("No scored visits yet. Run the analysis on the Visits tab to see trajectories.")
        return
    window = ctx.settings.trend_window
    trends = trends_from_analyses(analyses, window)
    alerts = [t for t in trends if t.alert]
    for t in alerts:
        st.error(f"**{t.label}**: {t.reason}.", icon=":material/warning:")
    def shown(x, digits):
        return "—" if x is None else f"{x:.{digits}f}"

    table = pd.DataFrame([{
        "Head": t.label,
        "Latest": shown(t.last, 2),
        "Change since last visit": shown(t.change, 2),
        "Beyond uncertainty": "yes" if t.change_significant else "no",
        f"Trend slope/visit (last {window})": shown(t.slope_per_visit, 3),
        "Kendall p": shown(t.trend_p, 3),
        "Direction": t.direction,
    } for t in trends])
    st.dataframe(table, hide_index=True, width="stretch")
    if any(t.slope_per_visit is None for t in trends):
        st.caption("— : a trend needs at least three scored visits.")

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
                   "versions is not a change in the patient. Run *Analyse unanalysed visits* to re-score every "
                   "visit with the current version.", icon=":material/difference:")
    dates = [a["visit_date"] for a in scored]
    rel = reliability(ctx.settings.heads_dir, scored[-1]["model_version"])
    cols = st.columns(2)
    for i, spec in enumerate(HEADS):
        values = [a["outputs"]["heads"][spec.name]["value"] for a in scored]
        stds = [a["outputs"]["heads"][spec.name].get("std", 0.0) for a in scored]
        with cols[i % 2]:
            st.plotly_chart(trajectory_chart(spec, dates, values, stds, rel.get(spec.name), overlay or None),
                            key=f"traj_{spec.name}", width="stretch")
    st.caption("Shaded bands are severity ranges, each point in its band's colour; error bars are 95% intervals, never "
               f"narrower than the heads' measured error. {DISCLAIMER}")

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
                    box.markdown("".join(pieces))

                try:
                    with st.spinner("Reading the visits in order…"):
                        analysis.run_progression(ctx, patient_id, llm, on_token=on_token)
                    st.rerun()
                except CoreError as exc:
                    state.show_error(exc)
