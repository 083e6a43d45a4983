"""Patient: visit timeline, adding visits, running the models, trajectories, sign-off, export."""

import contextlib

import streamlit as st

from app import background, resources, state
from app.navigation import go
from app.trajectory_view import render_trajectories
from app.visit_view import render_visit, task_title
from app.widgets import plural, visit_timeline_chart
from core.clinical import analyse, analysis, demo, patients, signoff, timing, visit_indicators
from core.clinical.family import family_history_mentions
from core.errors import CoreError
from core.models import info as model_info
from core.safety.crisis import CRISIS_RESOURCES


def llm_time_note(measured) -> str:
    """The tooltip's time per language-model question, from the runs measured on this machine."""
    if not measured:
        return "No language-model question has run on this machine yet, so its time per visit is not known."
    seconds, runs = measured
    return f"Each language-model question took a median {seconds:.0f} s per visit here (last {runs} runs)."


ctx = state.context()
patient_id = st.session_state.get("patient_id")
if patient_id is None:
    st.info("Choose a patient on the Patients page first.")
    if st.button("Go to Patients", key="to_patients"):
        go("patients.py")
    st.stop()
try:
    patient = patients.get_patient(ctx, patient_id)
except CoreError as exc:
    state.show_error(exc)
    st.stop()

consent = bool(patient["consent_ml"])
# The title first: loading the encoder below can take a while on a cold start, and the page should say whose it is.
st.title(f"{patient['pseudonym']}" + (f" · {patient['display_name']}" if patient["display_name"] else ""))
try:
    # The crisis check stored at save time; with consent, the encoder upgrades results the rules alone produced.
    # Right after start-up the encoder may still be loading: say so instead of a blank page.
    with st.spinner("Loading the encoder for the crisis check's semantic layer (first use after start-up)…",
                    show_time=True) if consent and not resources.encoder_loaded() else contextlib.nullcontext():
        visits = patients.list_visits(ctx, patient_id, encoder=resources.encoder_if_ready() if consent else None)
    all_analyses = analysis.patient_analyses(ctx, patient_id)
    feedback = signoff.qa_feedback(ctx, patient_id)
    indicators = visit_indicators.by_visit(ctx, patient_id, visits)  # stored on save; fills in older visits once
except CoreError as exc:
    state.show_error(exc)
    st.stop()
st.caption(f"{plural(len(visits), 'visit')} · consent to ML analysis: {'yes' if consent else 'no'}")
if ctx.demo and consent and (enc := resources.encoder_if_ready()) is not None:
    # The synthetic cohort shows its scores at once, also to a clinical lead, who cannot run analyses.
    with st.spinner("Scoring this demo patient's visits…"):
        scored = state.call(demo.score_demo_patient, ctx, enc, patient_id)
    if scored:
        all_analyses = analysis.patient_analyses(ctx, patient_id)
if flash := st.session_state.pop("flash", None):
    st.success(flash)

# --- crisis safety net: rules + semantic layer, stored when each visit was saved; needs acknowledgement ---------
for v in visits:
    crisis = v["crisis"]
    if crisis.risk_factors:
        # Someone else's suicide (family history, bereavement) is a risk factor, not the patient's ideation.
        quoted = "; ".join(f"“{f.sentence}”" for f in crisis.risk_factors[:3])
        st.info(f"**Suicide of a relative or other person: risk factor** (note of {v['visit_date']}): {quoted}",
                icon=":material/info:")
    if not crisis.flagged:
        continue
    acks = patients.crisis_acknowledged(ctx, v["id"])
    if acks:
        who = "; ".join(f"{a['username'] or 'a former user'} ({a['role'] or 'role unknown'}) on "
                        f"{a['acknowledged_at'][:16].replace('T', ' ')} UTC" + (f": “{a['note']}”" if a["note"] else "")
                        for a in acks)
        st.warning(f"Crisis language in the note of {v['visit_date']} ({', '.join(crisis.categories)}); "
                   f"acknowledged by {who}.", icon=":material/emergency:")
        continue
    with st.container(border=True):
        st.error(f"**Crisis language detected** in the note of {v['visit_date']}: "
                 f"{', '.join(crisis.categories)}. Model scores do not override this.",
                 icon=":material/emergency:")
        for f in crisis.flags:
            st.markdown(f"- **{f.category}**: “{f.sentence}” · _{f.describe()}_")
        if crisis.semantic != "on":
            st.caption(f"Semantic layer off ({crisis.semantic_note or 'no encoder'}): only the phrase rules checked "
                       "this note.")
        for line in CRISIS_RESOURCES:
            st.markdown(f"- {line}")
        ack_note = st.text_input("Note for the care team (optional): what you did or will do",
                                 key=f"ack_note_{v['id']}", max_chars=patients.ACK_NOTE_MAX)
        if st.button("I have seen this and will act on it", key=f"ack_{v['id']}", type="primary"):
            try:
                patients.acknowledge_crisis(ctx, v["id"], ack_note)
                st.rerun()
            except CoreError as exc:
                state.show_error(exc)

with st.expander("Patient details and consent", icon=":material/edit:"):
    with st.form("edit_patient"):
        name = st.text_input("Name", value=patient["display_name"], key="edit_name")
        new_consent = st.checkbox("Consents to ML analysis", value=consent, key="edit_consent")
        if st.form_submit_button("Save"):
            try:
                patients.update_patient(ctx, patient_id, display_name=name, consent_ml=new_consent)
                st.rerun()
            except CoreError as exc:
                state.show_error(exc)

tab_visits, tab_traj, tab_add, tab_export = st.tabs(["Visits", "Trajectories", "Add visits", "Export"])

with tab_add:
    from app.add_visit import render_add_visit

    render_add_visit(ctx, patient_id)

with tab_visits:
    from core.llm.tasks import TASKS

    tasks = [name for name in TASKS if name != "progression"]  # progression spans visits: Trajectories tab
    if not consent:
        st.info("This patient has not consented to ML analysis, so no model runs on their notes. "
                "Record consent under *Patient details and consent* to enable analysis.", icon=":material/block:")
    elif not model_info.heads_installed(ctx.settings):
        st.warning("No trained heads checkpoint is installed, so no head scores are shown (scores from untrained "
                   "heads would be meaningless). Train one with `python -m core train`.", icon=":material/warning:")
    elif ctx.user.can("analyses.run") and visits:
        background.warmup_notice()
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        chosen = c1.multiselect("Language-model questions to include (optional)", tasks, default=[],
                                key="batch_tasks", format_func=task_title,
                                help="Analyse runs the crisis check, scores every visit and gives the task heads' "
                                     "labels at once (seconds); the language model then writes the chosen "
                                     "questions' rationales in the background, one visit at a time, while you "
                                     "keep working. " + llm_time_note(state.call(timing.typical_seconds, ctx)))
        if c2.button("Analyse", key="analyse_all", type="primary", icon=":material/bolt:",
                     help="Crisis check, scores and task-head labels for every visit now; the chosen questions' "
                          "rationales in the background."):
            if (enc := resources.encoder()) is not None:
                result = None
                with st.status("Analysing visits…", expanded=True) as status:
                    bar = st.progress(0.0)

                    def progress(done, total, text):
                        bar.progress(done / total if total else 1.0, text=text)

                    warm = background.llm_warmup()
                    try:
                        result = analyse.analyse(ctx, patient_id, enc, tuple(chosen),
                                                 task_heads=resources.task_heads() if chosen else None,
                                                 progress=progress,
                                                 llm_unavailable=str(warm.error) if warm.state == "failed" else "")
                        status.update(label=f"Analysed {plural(result['visits'], 'visit')}", state="complete")
                    except CoreError as exc:
                        status.update(label="Analysis stopped", state="error")
                        state.show_error(exc)  # stays on screen: no rerun after a failure
                if result is not None:
                    if result["job_id"] is not None:
                        background.wake()
                        st.session_state["analyse_flash"] = (
                            f"Scored {plural(result['scored'], 'visit')}"
                            + (f" with {plural(result['labels'], 'task-head label')}" if result["labels"] else "")
                            + "; the language model's rationales are being written in the background "
                              "(progress below; you can leave this page).")
                    elif result["note"]:
                        st.session_state["analyse_flash"] = f"Scored {plural(result['scored'], 'visit')}. {result['note']}"
                    st.rerun()
    if said := st.session_state.pop("analyse_flash", None):
        (st.warning if "not available" in said else st.success)(said)
    if consent:
        background.patient_jobs(ctx, patient_id)
    by_visit: dict[int, list] = {}
    for a in all_analyses:
        by_visit.setdefault(a["visit_id"], []).append(a)
    if not visits:
        st.info("No visits yet: add one under *Add visits*.")
    else:
        st.plotly_chart(visit_timeline_chart(visits, by_visit, family_history_mentions(visits, all_analyses)),
                        key="visit_timeline", config={"displayModeBar": False})
    newest_first = list(reversed(visits))
    per_page = 10
    n_pages = max(1, -(-len(newest_first) // per_page))
    vpage = st.number_input(f"Visits page (of {n_pages}, newest first)", 1, n_pages, 1, key="visits_page") \
        if n_pages > 1 else 1
    for i, v in enumerate(newest_first[(vpage - 1) * per_page: vpage * per_page]):
        marker = " · ▲ crisis language" if v["crisis"].flagged else ""
        done = "" if by_visit.get(v["id"]) else " · not analysed"
        flagged = any(f["state"] == "open" for a in by_visit.get(v["id"], [])
                      for f in feedback.get(a["id"], {}).get("flags", []))
        if flagged:
            done += " · ■ QA flag"
        # The newest visit opens, and so does every visit with an open QA flag: a finding is never hidden.
        with st.expander(f"{v['visit_date']} · {v['source']}{marker}{done}",
                         expanded=(i == 0 and vpage == 1) or flagged):
            render_visit(ctx, v, by_visit.get(v["id"], []), tasks, consent, indicators.get(v["id"]),
                         feedback)

with tab_traj:
    render_trajectories(ctx, patient_id, visits, all_analyses, consent, indicators)

with tab_export:
    from app.export_view import render_export

    render_export(ctx, patient_id)
