"""Patients: searchable, sortable, paginated list; create a patient with consent."""

import pandas as pd
import streamlit as st

from app import state
from app.navigation import go
from app.score_style import SEVERITY_COLOURS, STATUS_MARKERS, legend_html, marker_text, status_markers
from app.widgets import plural
from core.clinical import patients
from core.clinical.trends import NOT_TRENDS
from core.errors import CoreError
from core.models.heads import HEADS

ctx = state.context()
st.title("Patients")
if ctx.demo:
    st.caption("Demo cohort: synthetic patients written by the project's generator.")

c1, c2, c3, c4 = st.columns([3, 2, 1, 1])
search = c1.text_input("Search pseudonym or name", key="patients_search", placeholder="e.g. DEMO-004 or Maria")
sort = c2.selectbox("Sort by", ["last_visit", "pseudonym", "name", "visits", "created"], key="patients_sort",
                    format_func=lambda s: s.replace("_", " ").capitalize())
descending = c3.toggle("Descending", value=True, key="patients_desc")
page_no = c4.number_input("Page", min_value=1, value=1, step=1, key="patients_page")

try:
    result = patients.list_patients(ctx, search=search, sort=sort, descending=descending, page=int(page_no))
except CoreError as exc:
    state.show_error(exc)
    st.stop()

if not result.rows:
    st.info("No patients yet." if not search else "No patient matches that search.")
else:
    show_names = ctx.user.role in ("psychiatrist", "clinical_lead")
    table = pd.DataFrame([
        {
            "Status": " · ".join(marker_text(x) for x in status_markers(r)),
            "Pseudonym": r["pseudonym"],
            **({"Name": r["display_name"]} if show_names else {}),
            "Last visit": r["last_visit"] or "—",
            "Visits": r["visit_count"],
            "Consent": "yes" if r["consent_ml"] else "no",
            **{h.label: r["trends"].get(h.name, {}).get("arrow", "·") + (" !" if r["trends"].get(h.name, {}).get(
                "alert") else "") for h in HEADS if h.name not in NOT_TRENDS},
            "Unsigned": r["unsigned"],
        }
        for r in result.rows
    ])
    # Up is worse for isolation and better for support: colour each arrow by what it means for the patient.
    meaning = {h.label: [r["trends"].get(h.name, {}).get("direction", "n/a") for r in result.rows] for h in HEADS
               if h.name not in NOT_TRENDS}
    colour = {"worse": f"color:{SEVERITY_COLOURS[3]};font-weight:600", "better": f"color:{SEVERITY_COLOURS[0]}"}

    def by_meaning(column):
        if column.name == "Status":
            return [f"color:{STATUS_MARKERS[status_markers(r)[0]][1]};font-weight:600" for r in result.rows]
        return [colour.get(d, "") for d in meaning[column.name]] if column.name in meaning else [""] * len(column)

    event = st.dataframe(table.style.apply(by_meaning, axis=0) if len(table) else table, hide_index=True,
                         width="stretch", on_select="rerun", selection_mode="single-row", key="patients_table")
    st.markdown("**Status** (hover for what each means): " + legend_html(), unsafe_allow_html=True)
    st.caption(f"Page {result.page} of {result.pages} · {plural(result.total, 'patient')} · arrows show each signal's change "
               "since the previous visit, purple where that is worse for the patient and green where better; "
               "! marks a worsening beyond the model's uncertainty. Family history is not a trend: see the "
               "patient's Trajectories tab.")
    chosen = event.selection.rows[0] if event and event.selection.rows else None
    if chosen is not None:
        st.session_state.pop("patients_table", None)
        go("patient.py", patient_id=result.rows[chosen]["id"])
    options = {r["pseudonym"]: r["id"] for r in result.rows}
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    pick = c1.selectbox("Open patient", list(options), key="patients_open_pick")
    if c2.button("Open", key="patients_open", type="primary"):
        go("patient.py", patient_id=options[pick])

if ctx.user.can("patients.write"):
    with st.expander("New patient", icon=":material/person_add:"):
        with st.form("new_patient", clear_on_submit=True):
            pseudonym = st.text_input("Pseudonymous id", key="new_pseudonym")
            name = st.text_input("Name (optional, shown only to the care team)", key="new_name")
            consent = st.checkbox("The patient consents to ML analysis of their notes", key="new_consent")
            if st.form_submit_button("Create patient"):
                try:
                    pid = patients.create_patient(ctx, pseudonym, name, consent)
                except CoreError as exc:
                    state.show_error(exc)
                else:
                    # The new patient opens at once: add their first visit there.
                    go("patient.py", patient_id=pid,
                       flash=f"Created {pseudonym.strip()}. Add the first visit under *Add visits*.")
