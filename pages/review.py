"""Review queue: QA reviewers check model outputs on de-identified notes, flag and correct them, adjudicate,
export flags (de-identified). Training sets with the real notes are on the Quality page, for clinical leads."""

import pandas as pd
import streamlit as st

from app import state
from core import review
from core.errors import CoreError
from core.models.heads import HEADS

ctx = state.context()
st.title("Review queue")
try:
    ctx.require("review.queue")
except CoreError as exc:
    state.show_error(exc)
    st.stop()

NO_CHANGE = "(no change)"


def act(fn, *args, success: str = "", **kwargs):
    """Call one core function; a library error becomes a message, success a toast."""
    try:
        result = fn(ctx, *args, **kwargs)
    except CoreError as exc:
        state.show_error(exc)
        return None
    if success:
        st.toast(success)
    return result


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
        f" · confidence {view['confidence']:.2f}" if view["confidence"] is not None else "")
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
            st.markdown(f"**Label:** {out.get('label') or '⚠ none (parse failure)'}")
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


tab_queue, tab_adjudicate, tab_export = st.tabs(["Queue", "Adjudicate", "Export"])

with tab_queue:
    facets = act(review.facets) or {"tasks": [], "model_versions": []}
    with st.expander("Filters", expanded=True, icon=":material/filter_list:"):
        c1, c2, c3 = st.columns(3)
        statuses = c1.multiselect("Status", review.STATUSES, default=["open", "in_review"], key="review_status")
        tasks = c2.multiselect("Task / heads", facets["tasks"], key="review_tasks")
        versions = c3.multiselect("Model version", facets["model_versions"], key="review_versions")
        c1, c2, c3, c4 = st.columns(4)
        date_from = c1.date_input("Analysed from", value=None, key="review_from")
        date_to = c2.date_input("Analysed to", value=None, key="review_to")
        flagged = c3.selectbox("Flagged", ["any", "flagged", "not flagged"], key="review_flagged")
        mine = c4.checkbox("Assigned to me", key="review_mine")
    filters = review.QueueFilters(statuses=tuple(statuses), tasks=tuple(tasks), model_versions=tuple(versions),
                                  date_from=date_from, date_to=date_to, mine=mine,
                                  flagged={"any": None, "flagged": True, "not flagged": False}[flagged])
    page = act(review.queue, filters)
    if page is not None:
        if not page.rows:
            st.info("Nothing in the queue matches these filters.")
        else:
            st.dataframe(pd.DataFrame([{
                "id": r["analysis_id"], "priority": r["priority"], "crisis": "CRISIS" if r["crisis"] else "",
                "task": r["task"], "output": r["summary"], "confidence": r["confidence"], "status": r["status"],
                "reviews": f"{r['reviews_done']}/{r['required_reviews']}", "flags": r["flag_count"],
                "model": r["model_version"], "visit": r["visit_date"], "locked by": r["locked_by_name"] or "",
                "assigned": r["assigned_to_name"] or "", "mine": r["my_decision"] or ""} for r in page.rows]),
                hide_index=True, key="review_table",
                column_config={"priority": st.column_config.NumberColumn(format="%.0f"),
                               "confidence": st.column_config.NumberColumn(format="%.2f")})
            st.caption(f"{page.total} items · highest priority first (crisis language, then unparsable and "
                       "low-confidence outputs).")
        c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
        pick = c1.selectbox("Item", [r["analysis_id"] for r in page.rows], key="review_pick")
        if c2.button("Open", key="review_open", disabled=pick is None):
            st.session_state["review_item"] = pick
        if ctx.user.can("review.act") and c3.button("Claim next", key="review_next", type="primary"):
            got = act(review.claim_next, tuple(tasks))
            st.session_state["review_item"] = got
            if got is None:
                st.info("No item left for you to review.")

    item_id = st.session_state.get("review_item")
    view = act(review.item_view, item_id) if item_id else None
    if view:
        st.divider()
        show_item(view)
        can_act = ctx.user.can("review.act")
        if can_act and view["status"] != "resolved" and not view["locked_by_me"]:
            if view["locked_by"]:
                st.warning(f"{view['locked_by_name']} is reviewing this item.")
            elif st.button("Claim this item", key="review_claim"):
                if act(review.claim, item_id, success="Item claimed."):
                    st.rerun()
        if can_act and view["locked_by_me"]:
            fields = verdict_form("review_form", view)
            if fields is not None and act(review.decide, item_id, fields.pop("decision"), **fields,
                                          success="Decision saved."):
                st.session_state["review_done"] = item_id
                st.rerun()
            if st.button("Release without deciding", key="review_release"):
                act(review.release, item_id)
                st.rerun()
        if st.session_state.get("review_done") == item_id:
            st.success("Decision saved.")
        if can_act:
            with st.expander("Send back for re-review · assign", icon=":material/undo:"):
                why = st.text_area("Why it needs another look", key="review_sendback_comment")
                if st.button("Send back", key="review_sendback"):
                    if act(review.send_back, item_id, why, success="Sent back for re-review."):
                        st.rerun()
                who = st.selectbox("Assign to", ["(nobody)", *review.reviewers(ctx)], key="review_assignee")
                if st.button("Assign", key="review_assign"):
                    act(review.assign, item_id, None if who == "(nobody)" else who, success="Assigned.")

    if ctx.user.can("review.act"):
        with st.expander("Queue settings", icon=":material/settings:"):
            overlap = st.number_input("Reviewers per item (overlap)", 1, review.MAX_OVERLAP,
                                      value=review.get_overlap(ctx), key="review_overlap")
            if st.button("Save overlap", key="review_overlap_save"):
                changed = act(review.set_overlap, int(overlap))
                if changed is not None:
                    st.success(f"Overlap set to {overlap}; {changed} unresolved items updated.")

with tab_adjudicate:
    items = act(review.disagreements) or []
    if not items:
        st.info("No disagreements to adjudicate.")
    for d in items:
        with st.expander(f"#{d['analysis_id']} · {d['task']} · model {d['model_version']} · round {d['round']}"):
            st.dataframe(pd.DataFrame(d["decisions"]), hide_index=True, key=f"adj_table_{d['analysis_id']}")
            adj_view = act(review.item_view, d["analysis_id"])
            if adj_view and ctx.user.can("review.act"):
                st.text(adj_view["text"] or "")
                fields = verdict_form(f"adj_{d['analysis_id']}", adj_view, adjudication=True)
                if fields is not None and act(review.adjudicate, d["analysis_id"], fields.pop("decision"), **fields,
                                              success="Adjudicated."):
                    st.rerun()

with tab_export:
    formats = [f for f in review.export_formats(ctx) if f in review.FLAG_FORMATS]
    if not formats:
        st.info("Your role cannot export review data.")
    else:
        fmt = st.radio("Export", formats, format_func=review.EXPORT_FORMATS.get, key="export_format")
        st.caption("Comments and corrected rationales are de-identified; no visit text is exported. Training sets "
                   "with the real notes are made by a clinical lead on the Quality page.")
        if st.button("Prepare export", key="export_prepare"):
            st.session_state["review_export"] = act(review.export, fmt)
        result = st.session_state.get("review_export")
        if result is not None:
            st.caption(f"{result.rows} row" + ("" if result.rows == 1 else "s"))
            st.download_button(f"Download {result.filename}", result.data, file_name=result.filename,
                               mime=result.mime, key="export_download")
