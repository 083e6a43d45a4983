"""Review-queue widgets: one item as a reviewer sees it (de-identified), and the decision form."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.score_style import confidence_word
from core import review
from core.models.heads import HEADS

NO_CHANGE = "(no change)"


def verdict_form(key: str, view: dict, *, adjudication: bool = False) -> dict | None:
    """Decision, reason, severity, note and optional corrections; returns the fields when submitted."""
    with st.form(key):
        options = ["approve", "flag"] if adjudication else list(review.DECISIONS)
        decision = st.radio("Decision", options, horizontal=True, key=f"{key}_decision")
        c1, c2 = st.columns(2)
        reason = c1.selectbox("Reason (flags)", list(review.REASONS), format_func=review.REASONS.get,
                              key=f"{key}_reason")
        severity = c2.selectbox("Severity (flags)", review.SEVERITIES, index=1, key=f"{key}_severity")
        comment = st.text_area("Note (on every decision)", key=f"{key}_comment")
        fields = {}
        if view["kind"] == "llm":
            label = st.selectbox("Corrected label", [NO_CHANGE, *view["labels"]], key=f"{key}_label")
            fields["corrected_label"] = None if label == NO_CHANGE else label
            fields["corrected_rationale"] = st.text_area(
                "Corrected rationale (needed for LoRA retraining)", key=f"{key}_rationale")
        else:
            cols = st.columns(len(HEADS))
            fields["corrected_scores"] = {
                h.name: cols[i].number_input(f"{h.label} ({h.low:g}…{h.high:g})", min_value=h.low, max_value=h.high,
                                             value=None, step=1.0 if h.kind == "binary" else 0.1,
                                             help="0 = no, 1 = yes" if h.kind == "binary" else None,
                                             key=f"{key}_score_{h.name}")
                for i, h in enumerate(HEADS)}
        if not st.form_submit_button("Submit", type="primary"):
            return None
    if decision != "flag":
        return {"decision": decision, "comment": comment}
    return {"decision": decision, "reason": reason, "severity": severity, "comment": comment, **fields}


def show_item(view: dict) -> None:
    flags = (" · CRISIS LANGUAGE" if view["crisis"] else "") + (
        f" · model's own confidence: {confidence_word(view['confidence'])}" if view["confidence"] is not None else "")
    st.subheader(f"#{view['analysis_id']} · {view['task']} · {view['status'].replace('_', ' ')}")
    st.caption(f"model `{view['model_id']}` {view['model_version']} · prompt {view['prompt_version'] or '—'} · "
               f"visit {view['visit_date']} · clinician sign-off: {view['signoff']} · round {view['round']}, "
               f"{view['required_reviews']} review(s) needed{flags}")
    if view["crisis"]:
        st.warning("Crisis language in this note: check that the output does not miss or play down the risk.")
    left, right = st.columns(2)
    with left.container(border=True):
        st.markdown("**Visit note (de-identified)**")
        st.text(view["text"] or "")
    with right.container(border=True):
        out = view["outputs"]
        if view["kind"] == "llm":
            st.markdown(f"**Label:** {out.get('label') or 'none (parse failure)'}")
            probs = out.get("probabilities") or {}
            if probs:
                st.dataframe(pd.DataFrame({"label": list(probs), "probability": list(probs.values())}),
                             hide_index=True, key="review_probs")
            st.markdown("**Rationale (de-identified)**")
            st.text(out.get("rationale") or "—")
        else:
            st.dataframe(pd.DataFrame([{"head": h.label, "value": out["heads"][h.name]["value"],
                                        "std": out["heads"][h.name].get("std")}
                                       for h in HEADS if h.name in out.get("heads", {})]),
                         hide_index=True, key="review_heads")
    if view["decisions"]:
        st.dataframe(pd.DataFrame(view["decisions"])[
            ["round", "username", "decision", "reason", "severity", "comment", "corrected_label",
             "corrected_rationale", "created_at"]], hide_index=True, key="review_history")
