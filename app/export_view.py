"""Export tab: patient summary as Markdown or PDF, scores as CSV, all with provenance."""

from __future__ import annotations

import streamlit as st

from app import state
from core.clinical import export
from core.errors import CoreError


def render_export(ctx, patient_id: int) -> None:
    if not ctx.user.can("export.patient"):
        st.info("Your role cannot export patient summaries.")
        return
    st.caption("Exports carry model names, versions, prompt versions and sign-off state. Each export is audited.")
    fmt = st.radio("Format", ["Markdown", "PDF", "CSV of scores"], horizontal=True, key="export_format")
    if st.button("Prepare export", key="export_prepare"):
        try:
            if fmt == "Markdown":
                st.session_state["export_blob"] = (export.summary_markdown(ctx, patient_id).encode(), "md",
                                                   "text/markdown")
            elif fmt == "PDF":
                st.session_state["export_blob"] = (export.summary_pdf(ctx, patient_id), "pdf", "application/pdf")
            else:
                st.session_state["export_blob"] = (export.scores_csv(ctx, patient_id).encode(), "csv", "text/csv")
        except CoreError as exc:
            state.show_error(exc)
    blob = st.session_state.get("export_blob")
    if blob:
        data, ext, mime = blob
        st.download_button(f"Download .{ext}", data, file_name=f"patient-{patient_id}-summary.{ext}", mime=mime,
                           key="export_download")
