"""Cohort (clinical lead): score distributions, patients needing attention, flag rates, demo controls."""

import pandas as pd
import plotly.express as px
import streamlit as st

from app import resources, state
from app.navigation import go
from app.score_style import legend_html, marker_html, marker_text
from core.clinical import cohort, demo
from core.errors import CoreError
from core.models.heads import HEADS

ctx = state.context()
st.title("Cohort")

if ctx.user.can("demo.manage"):
    with st.expander("Demo mode", icon=":material/slideshow:", expanded=ctx.demo):
        st.write("The demo cohort is synthetic (about 12 patients with improving, worsening and stable courses), "
                 "kept in its own database. Toggle *Demo mode* in the sidebar to enter it.")
        if ctx.demo and st.button("Reset the demo cohort", key="demo_reset", icon=":material/restart_alt:"):
            try:
                with st.spinner("Resetting and scoring the demo cohort…"):
                    n = demo.reset_for(ctx, resources.encoder())
                st.success(f"Demo reset: {n} synthetic patients; head scores computed, language-model "
                           "analyses run on demand.")
            except CoreError as exc:
                state.show_error(exc)

try:
    data = cohort.overview(ctx)
except CoreError as exc:
    state.show_error(exc)
    st.stop()

c1, c2, c3, c4 = st.columns(4)
c1.metric("Patients", data["patients"])
c2.metric("Visits", data["visits"])
c3.metric("Need attention", len(data["attention"]),
          help="Patients with at least one of: crisis language, an open QA flag, a worsening trend on an adequately "
               "evaluated signal. Outputs awaiting sign-off alone do not count.")
by_reason = {r: sum(1 for a in data["attention"] if r in a["reasons"]) for r in cohort.REASONS}
c4.metric("Crisis flags", by_reason["crisis"], help="Patients with crisis language nobody has acknowledged.")
st.markdown("Need attention because of: " + " &nbsp; ".join(f"{marker_html(r)}: {n}" for r, n in by_reason.items()),
            unsafe_allow_html=True)

st.subheader("Patients needing attention")
st.markdown(legend_html(("crisis", "qa_flag", "worsening")), unsafe_allow_html=True)
if data["attention"]:
    att = pd.DataFrame([{
        "Pseudonym": a["pseudonym"],
        "Why": " · ".join(marker_text(r) for r in a["reasons"]),
        "Worsening signals": a["worsening"],
        "Open QA flags": a["qa_flags"],
        "Awaiting sign-off": a["unsigned_outputs"],
        "Last visit": a["last_visit"],
    } for a in data["attention"]])
    st.dataframe(att, hide_index=True, width="stretch")
    options = {a["pseudonym"]: a["patient_id"] for a in data["attention"]}
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    pick = c1.selectbox("Open patient", list(options), key="cohort_open_pick")
    if c2.button("Open", key="cohort_open"):
        go("patient.py", patient_id=options[pick])
elif not data["patients"]:
    st.info("No patients yet: nothing to check.")
else:
    st.success("No patient has crisis language, an open QA flag or a worsening trend on an adequately evaluated "
               "signal.")

st.subheader("Latest score per patient")
if data["latest_scores"]:
    scores = pd.DataFrame(data["latest_scores"])
    cols = st.columns(len(HEADS))
    for col, spec in zip(cols, HEADS):
        if spec.name in scores:
            fig = px.histogram(scores, x=spec.name, nbins=10, range_x=[spec.low, spec.high], title=spec.label,
                               height=220)
            fig.update_layout(margin=dict(l=5, r=5, t=35, b=5), showlegend=False, xaxis_title=None,
                              yaxis_title="patients")
            col.plotly_chart(fig, key=f"dist_{spec.name}", width="stretch")
else:
    st.info("No scored visits yet.")

st.subheader("QA flag rates")
if data["flag_rates"]:
    st.dataframe(pd.DataFrame(data["flag_rates"]), hide_index=True, width="stretch")
else:
    st.caption("No QA reviews yet.")
st.caption("Decision support, not a diagnosis.")
