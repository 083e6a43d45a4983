"""Adding visits: paste, upload one note, or import many dated visits."""

from __future__ import annotations

from datetime import date

import streamlit as st

from app import resources, state
from app.widgets import plural
from core.clinical import patients
from core.errors import CoreError


def render_add_visit(ctx, patient_id: int) -> None:
    if not ctx.user.can("visits.write"):
        st.info("Your role cannot add visits.")
        return
    limit = ctx.settings.max_upload_mb
    paste, upload, batch = st.tabs(["Paste", "Upload a note", "Import many visits"])
    with paste, st.form("paste_visit", clear_on_submit=True):
        when = st.date_input("Visit date", value=date.today(), key="paste_date")
        text = st.text_area("Session note", height=200, key="paste_text",
                            placeholder="Paste the session note here…")
        if st.form_submit_button("Add visit", type="primary"):
            _save(lambda: patients.add_visit(ctx, patient_id, when, text, encoder=resources.encoder_if_ready()),
                  "Visit added.")
    with upload, st.form("upload_visit", clear_on_submit=True):
        when = st.date_input("Visit date", value=date.today(), key="upload_date")
        file = st.file_uploader(f"Note (.txt, .md, .docx, .pdf; up to {limit} MB)",
                                type=["txt", "md", "docx", "pdf"], key="upload_file")
        if st.form_submit_button("Add visit from file") and file is not None:
            _save(lambda: patients.add_visit_upload(ctx, patient_id, when, file.name, file.getvalue(),
                                                  encoder=resources.encoder_if_ready()),
                  f"Visit added from {file.name}.")
    with batch, st.form("import_visits", clear_on_submit=True):
        st.caption("A .csv or .jsonl with columns `visit_date` (YYYY-MM-DD) and `text`, one row per visit. "
                   "Nothing is stored unless every row is valid.")
        file = st.file_uploader("Visits file", type=["csv", "jsonl"], key="import_file")
        if st.form_submit_button("Import visits") and file is not None:
            def run_import():
                ids = patients.import_visits(ctx, patient_id, file.name, file.getvalue(),
                                             encoder=resources.encoder_if_ready())
                return f"{plural(len(ids), 'visit')} imported."

            _save(run_import, None)


def _save(action, message) -> None:
    try:
        result = action()
    except CoreError as exc:
        state.show_error(exc)
        return
    st.session_state["flash"] = message or result
    st.rerun()
