"""Quality: how often QA flags model outputs (by model version, task and reason), sign-offs vs flags,
reviewer progress and agreement between reviewers. Aggregates only: no note text on this page. Clinical leads
also download the corrections as training sets (real notes, audited) for the heads and LoRA trainers."""

import pandas as pd
import plotly.express as px
import streamlit as st

from app import state
from core import review
from core.errors import CoreError

ctx = state.page(require="quality.read")
st.title("Quality")

freq = st.segmented_control("Group by", ["D", "W", "M"], default="W", key="quality_freq",
                            format_func={"D": "Day", "W": "Week", "M": "Month"}.get) or "W"
try:
    with st.spinner("Computing quality statistics…"):
        stats = review.quality_stats(ctx, freq=freq)
except CoreError as exc:
    state.show_error(exc)
    st.stop()

counts = stats.status_counts
c1, c2, c3, c4 = st.columns(4)
c1.metric("Open", counts.get("open", 0))
c2.metric("In review", counts.get("in_review", 0))
c3.metric("Resolved", counts.get("resolved", 0))
reviewed = int(stats.flag_rate["reviewed"].sum()) if not stats.flag_rate.empty else 0
flagged = int(stats.flag_rate["flagged"].sum()) if not stats.flag_rate.empty else 0
c4.metric("Flag rate", f"{flagged / reviewed:.0%}" if reviewed else "—", help=f"{flagged} of {reviewed} decisions")

st.subheader("Flag rate over time")
if stats.flag_rate.empty:
    st.info("No review decisions yet.")
else:
    by = st.radio("Split by", ["model_version", "task"], horizontal=True, key="quality_split",
                  format_func=lambda s: s.replace("_", " "))
    rate = stats.flag_rate.groupby(["period", by], as_index=False)[["reviewed", "flagged"]].sum()
    rate["rate"] = rate["flagged"] / rate["reviewed"]
    fig = px.line(rate, x="period", y="rate", color=by, markers=True, hover_data=["reviewed", "flagged"],
                  labels={"period": "", "rate": "flag rate"})
    fig.update_layout(yaxis_tickformat=".0%", height=320, margin=dict(l=10, r=10, t=10, b=10))
    fig.update_xaxes(type="category")  # one point per period, not a zoomable time axis
    st.plotly_chart(fig, key="quality_rate_chart")

    st.subheader("Flags by reason")
    if stats.reasons.empty:
        st.caption("No flags yet.")
    else:
        fig = px.bar(stats.reasons, x="period", y="flags", color="reason", labels={"period": ""})
        fig.update_layout(height=320, margin=dict(l=10, r=10, t=10, b=10))
        fig.update_xaxes(type="category")
        st.plotly_chart(fig, key="quality_reason_chart")

    st.subheader("Clinician sign-offs vs QA flags")
    if not stats.signoff.empty:
        table = stats.signoff.pivot_table(index="signoff", columns="qa", values="analyses", fill_value=0)
        st.dataframe(table, key="quality_signoff")
    if stats.signed_flagged:
        st.warning(f"{len(stats.signed_flagged)} output(s) signed by a clinician were later flagged by QA: "
                   + ", ".join(f"#{a}" for a in stats.signed_flagged))

st.subheader("Reviewer progress")
if stats.reviewers.empty:
    st.caption("No reviewer activity yet.")
else:
    st.dataframe(stats.reviewers, hide_index=True, key="quality_reviewers")

st.subheader("Agreement between reviewers")
if not stats.agreement:
    st.caption("Agreement needs items reviewed by at least two reviewers (raise the overlap in the review queue).")
else:
    agree = pd.DataFrame(stats.agreement)
    agree["method"] = agree["method"].map({"cohen_kappa": "Cohen's κ", "krippendorff_alpha": "Krippendorff's α",
                                           "n/a": "—"})
    st.dataframe(agree, hide_index=True, key="quality_agreement",
                 column_config={"value": st.column_config.NumberColumn("agreement", format="%.2f"),
                                "percent": st.column_config.NumberColumn("raw agreement", format="percent")})
    st.caption("κ/α: 1 is perfect agreement, 0 is chance level; empty when undefined (everyone chose the same).")

if ctx.user.can("review.export_training"):
    st.subheader("Training sets from QA corrections")
    st.warning("Training sets contain the **real, identifiable visit text** (models must learn from the notes they "
               "will read). Keep them with the model team; every export is recorded in the audit trail.")
    c1, c2, c3 = st.columns([2, 1, 1])
    fmt = c1.radio("Training set", list(review.TRAINING_FORMATS),
                   format_func=lambda f: review.EXPORT_FORMATS[f].split(": python")[0], key="quality_train_format")
    c1.caption("For the model team: the matching training command is under *Models* and *QA review* in the README.")
    jsonl = c2.checkbox("JSON lines instead of CSV", key="quality_train_jsonl")
    approved = c3.checkbox("Include approved outputs as confirmed labels", key="quality_train_approved")
    if st.button("Prepare training set", key="quality_train_prepare"):
        try:
            with st.spinner("Building the training set…"):
                st.session_state["quality_train_export"] = review.export(ctx, fmt, jsonl=jsonl,
                                                                         include_approved=approved)
        except CoreError as exc:
            state.show_error(exc)
    result = st.session_state.get("quality_train_export")
    if result is not None:
        skipped = ", ".join(f"{n} {why}" for why, n in result.skipped.items())
        st.caption(f"{result.rows} rows" + (f" · left out: {skipped}" if skipped else ""))
        st.download_button(f"Download {result.filename}", result.data, file_name=result.filename,
                           mime=result.mime, key="quality_train_download")
