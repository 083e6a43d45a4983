"""Audit trail (admins): filter events, verify the hash chain, export CSV."""

import datetime as dt

import pandas as pd
import streamlit as st

from app import state
from core.errors import CoreError
from core.security import audit

ctx = state.context()
st.title("Audit trail")
st.caption("Every read or write of patient data, model run, flag and sign-off. Append-only and hash-chained: "
           "any change to a past event breaks the chain.")
store = state.main_store()

c1, c2, c3 = st.columns(3)
username = c1.text_input("User", key="audit_user")
action = c2.text_input("Action (exact, or a prefix ending in '.', e.g. auth.)", key="audit_action")
entity = c3.selectbox("Record type", ["", "patient", "visit", "analysis", "user", "review", "audit"],
                      key="audit_entity", format_func=lambda e: e or "any")
c4, c5, c6, c7 = st.columns(4)
entity_id = c4.text_input("Record id", key="audit_entity_id")
since = c5.date_input("From", value=None, key="audit_since")
until = c6.date_input("To", value=None, key="audit_until")
limit = c7.number_input("Show at most", min_value=10, max_value=5000, value=200, step=50, key="audit_limit")

filters = audit.AuditFilter(username=username, action=action, entity=entity, entity_id=entity_id,
                            since=since, until=until, limit=int(limit))
try:
    events = audit.search(store, ctx.user, filters)
except CoreError as exc:
    state.show_error(exc)
    st.stop()

st.dataframe(
    pd.DataFrame([{
        "Id": e["id"], "Time (UTC)": e["ts"][:19].replace("T", " "), "User": e["username"], "Action": e["action"],
        "Record": f"{e['entity']} {e['entity_id']}".strip(), "Details": str(e["details"]),
    } for e in events], columns=["Id", "Time (UTC)", "User", "Action", "Record", "Details"]),
    hide_index=True, width="stretch", key="audit_table",
)
st.caption(f"{len(events)} events, newest first.")

c1, c2, c3 = st.columns(3)
if c1.button("Verify hash chain", key="audit_verify", icon=":material/verified:"):
    try:
        result = audit.verify(store, ctx.user)
    except CoreError as exc:
        state.show_error(exc)
    else:
        if result.ok:
            st.success(f"Chain intact: {result.checked:,} events verified, "
                       f"{result.checkpoints:,} signed checkpoints match.")
        else:
            where = (f"event {result.first_bad_id} does not match the chain" if result.first_bad_id
                     else "the trail does not match its signed checkpoints")
            st.error(f"TAMPERED: {where} (checked {result.checked:,}). Preserve a copy of the database and "
                     "investigate.")
            for problem in result.problems[:10]:
                st.text(problem)
if c2.button("Prepare CSV export", key="audit_export", icon=":material/download:"):
    try:
        st.session_state["audit_csv"] = audit.export_csv(store, ctx.user, filters)
    except CoreError as exc:
        state.show_error(exc)
if st.session_state.get("audit_csv"):
    c3.download_button("Download CSV", st.session_state["audit_csv"], key="audit_download", mime="text/csv",
                       file_name=f"audit-{dt.date.today().isoformat()}.csv")
