"""Review queue: QA reviewers check model outputs on de-identified notes, flag and correct them, adjudicate,
export flags (de-identified). Training sets with the real notes are on the Quality page, for clinical leads."""

import pandas as pd
import streamlit as st

from app import state
from app.review_view import show_item, verdict_form
from app.score_style import CONFIDENCE_HELP, confidence_word
from app.widgets import plural
from core import review

ctx = state.page(require="review.queue")
st.title("Review queue")


def act(fn, *args, success: str = "", **kwargs):
    return state.call(fn, ctx, *args, success=success, **kwargs)


tab_queue, tab_adjudicate, tab_export = st.tabs(["Queue", "Adjudicate", "Export"])

with tab_queue:
    facets = act(review.facets) or {"tasks": [], "model_versions": []}
    with st.expander("Filters", expanded=True, icon=":material/filter_list:"):
        c1, c2, c3 = st.columns(3)
        statuses = c1.multiselect("Status", review.STATUSES, default=["open", "in_review"], key="review_status",
                                  format_func=lambda s: s.replace("_", " "))
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
                "task": r["task"], "output": r["summary"], "model confidence": confidence_word(r["confidence"]), "status": r["status"],
                "reviews": f"{r['reviews_done']}/{r['required_reviews']}", "flags": r["flag_count"],
                "model": r["model_version"], "visit": r["visit_date"], "locked by": r["locked_by_name"] or "",
                "assigned": r["assigned_to_name"] or "", "mine": r["my_decision"] or ""} for r in page.rows]),
                hide_index=True, key="review_table",
                column_config={"priority": st.column_config.NumberColumn(format="%.0f"),
                               "model confidence": st.column_config.TextColumn(help=CONFIDENCE_HELP)})
            st.caption(f"{plural(page.total, 'item')} · highest priority first (crisis language, then unparsable and "
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
