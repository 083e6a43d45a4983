"""What the clinician sees of the crisis check: risk-factor notice, red highlight, patient-level state, shared
acknowledgement, stored results."""

from core.clinical import cohort, patients
from core.safety.crisis import OTHER_SUICIDE

UNCLE_NOTE = ("Family history: maternal uncle died by suicide in 2015. Patient denies current suicidal ideation, "
              "intent or plan. Mood improving with sertraline.")
CRISIS_NOTE = "Session 4. Says she wants to kill herself and has been stockpiling pills."


def texts(at) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.caption] + [e.value for e in at.error]
    parts += [e.value for e in at.info] + [e.value for e in at.warning] + [e.value for e in at.success]
    return "\n".join(str(p) for p in parts)


def test_relatives_suicide_is_a_calm_risk_factor_notice_not_the_crisis_banner(app_env):
    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-UNCLE", consent_ml=False)
    vid = patients.add_visit(ctx, pid, "2026-03-02", UNCLE_NOTE)
    [visit] = patients.list_visits(ctx, pid)
    assert not visit["crisis"].flagged
    assert [f.category for f in visit["crisis"].risk_factors] == [OTHER_SUICIDE]
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not at.exception
    assert "Crisis language detected" not in texts(at)
    assert not any(b.key == f"ack_{vid}" for b in at.button)
    assert any("Suicide of a relative or other person: risk factor" in i.value and "maternal uncle" in i.value
               for i in at.info)
    assert patients.list_patients(ctx).rows[0]["crisis"] is False


def test_crisis_red_stays_visible_under_an_evidence_span_that_starts_earlier():
    from app.widgets import highlight

    text = "Low mood. She says she wants to die. Poor sleep."
    start = text.index("wants to die")
    html_ = highlight(text, [(0, len(text), "supports: risk", "evidence"),
                             (start, start + len("wants to die"), "crisis language: x", "crisis")])
    assert "class='mhd-crisis'" in html_ and ">wants to die</mark>" in html_
    assert html_.count("class='mhd-evidence'") == 2  # the evidence is cut around the crisis mark


def test_patient_in_crisis_while_any_visit_is_unacknowledged(app_env):
    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-ANY", consent_ml=False)
    vid = patients.add_visit(ctx, pid, "2026-03-02", CRISIS_NOTE)
    patients.add_visit(ctx, pid, "2026-03-02", "Harmless follow-up: slept better, went for a walk.")
    [row] = patients.list_patients(ctx).rows
    assert row["crisis"] is True and row["status"] == "crisis"
    lead = app_env.ctx("lead")
    attention = cohort.overview(lead)["attention"]
    assert [a["crisis"] for a in attention if a["patient_id"] == pid] == [True]
    at = app_env.page("pages/cohort.py", "lead").run()
    assert not at.exception
    assert [m.value for m in at.metric if m.label == "Crisis flags"] == ["1"]
    patients.acknowledge_crisis(ctx, vid, "Called her; safety plan reviewed.")
    [row] = patients.list_patients(ctx).rows
    assert row["crisis"] is False and row["crisis_acknowledged"] == 1
    assert not [a for a in cohort.overview(lead)["attention"] if a["patient_id"] == pid and a["crisis"]]


def test_acknowledgement_is_shared_with_the_care_team(app_env):
    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-ACK", consent_ml=False)
    vid = patients.add_visit(ctx, pid, "2026-03-02", CRISIS_NOTE)
    lead_page = app_env.page("pages/patient.py", "lead", patient_id=pid).run()
    assert "Crisis language detected" in texts(lead_page)  # nobody has acknowledged yet
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    at.text_input(key=f"ack_note_{vid}").input("Phoned patient, crisis team informed.")
    at.button(key=f"ack_{vid}").click().run()
    assert not at.exception
    lead_page = app_env.page("pages/patient.py", "lead", patient_id=pid).run()
    assert not lead_page.exception
    shown = texts(lead_page)
    assert "Crisis language detected" not in shown
    assert not any(b.key == f"ack_{vid}" for b in lead_page.button)
    assert any("acknowledged by psy (psychiatrist)" in w.value and "Phoned patient, crisis team informed." in w.value
               for w in lead_page.warning)
    [ack] = patients.crisis_acknowledged(app_env.ctx("lead"), vid)
    assert ack["username"] == "psy" and ack["note"] == "Phoned patient, crisis team informed."


def test_banner_names_category_sentence_and_layer_and_says_the_semantic_layer_was_off(app_env):
    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-WHY", consent_ml=False)
    patients.add_visit(ctx, pid, "2026-03-02", CRISIS_NOTE + " Denies any plan to overdose.")
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not at.exception
    shown = texts(at)
    assert "suicidal ideation" in shown and "phrase rule" in shown and "wants to kill herself" in shown
    assert "Semantic layer off (no consent to ML analysis" in shown
    assert any("considered, not flagged" in e.label for e in at.expander)


def test_crisis_result_is_stored_at_save_and_read_back_without_recomputing(app_env, monkeypatch):
    from core.safety import crisis_check
    from core.storage import records

    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-STORE", consent_ml=False)
    vid = patients.add_visit(ctx, pid, "2026-03-02", CRISIS_NOTE)
    stored = records.visit_crisis(app_env.store, [vid])[vid]
    assert stored["flagged"] == 1 and stored["version"] == crisis_check.DETECTOR_VERSION

    def boom(*a, **k):
        raise AssertionError("recomputed")

    monkeypatch.setattr(crisis_check, "assess_crisis", boom)
    monkeypatch.setattr("core.safety.crisis_state.assess_crisis", boom)
    [visit] = patients.list_visits(ctx, pid)
    assert visit["crisis"].flagged and visit["crisis"].flags[0].layer == "rule"


def test_import_batch_runs_the_crisis_check_on_every_visit(app_env):
    from core.storage import records

    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-BATCH", consent_ml=False)
    data = (b"visit_date,text\n2026-01-01,Slept well.\n2026-01-08,\"Says she wants to kill herself.\"\n")
    ids = patients.import_visits(ctx, pid, "v.csv", data)
    stored = records.visit_crisis(app_env.store, ids)
    assert [stored[i]["flagged"] for i in ids] == [0, 1]


def test_a_new_minor_detector_version_keeps_older_semantic_flags_in_the_summaries(app_env):
    """Recomputing an older result of the same detector family with the rules alone would drop its semantic flag
    from the patient list; only a result of another family is recomputed there."""
    from core.safety import crisis_state
    from core.safety.crisis_check import DETECTOR_FAMILY, DETECTOR_VERSION, CrisisAssessment, CrisisFlag
    from core.storage import records

    assert DETECTOR_VERSION.startswith(DETECTOR_FAMILY + ".")
    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-MINOR", consent_ml=True)
    quiet_note = "Talked about her week at work and the new flat."  # no rule fires on it; the stored flag is made up
    vid = patients.add_visit(ctx, pid, "2026-03-02", quiet_note)
    semantic = CrisisAssessment(flags=[CrisisFlag("preparatory acts", quiet_note, 0, len(quiet_note), "semantic",
                                                  score=0.8)], semantic="on", version=DETECTOR_FAMILY)
    crisis_state.store_result(app_env.store, vid, semantic)
    assert crisis_state.patient_states(app_env.store, [pid])[pid]["unacknowledged"] == 1
    assert records.visit_crisis(app_env.store, [vid])[vid]["version"] == DETECTOR_FAMILY  # kept, not recomputed
    # another family is recomputed (here with the rules alone, which do not flag this note)
    crisis_state.store_result(app_env.store, vid, CrisisAssessment(flags=semantic.flags, semantic="on",
                                                                   version="layered-0"))
    assert crisis_state.patient_states(app_env.store, [pid]).get(pid, {}).get("unacknowledged", 0) == 0
    assert records.visit_crisis(app_env.store, [vid])[vid]["version"] == DETECTOR_VERSION


def test_a_patient_page_with_the_encoder_recomputes_an_older_minor_version(app_env, monkeypatch):
    from core.safety import crisis_state
    from core.safety.crisis_check import DETECTOR_FAMILY, DETECTOR_VERSION, CrisisAssessment

    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-UPGRADE", consent_ml=True)
    vid = patients.add_visit(ctx, pid, "2026-03-02", "Talked about her week at work.")
    crisis_state.store_result(app_env.store, vid, CrisisAssessment(semantic="on", version=DETECTOR_FAMILY))
    current = CrisisAssessment(semantic="on", version=DETECTOR_VERSION)
    calls = []
    monkeypatch.setattr(crisis_state, "check_and_store",
                        lambda store, visit_id, text, encoder, consent=True: calls.append(visit_id) or current)

    class Backbone:  # an in-process encoder, as far as the crisis state can tell
        def sentence_embeddings(self, texts):
            raise AssertionError("not called here")

    visit = {"id": vid, "text": "Talked about her week at work."}
    crisis_state.results_for(app_env.store, [visit], None)
    assert calls == []                      # no encoder: the older result of the family stands
    crisis_state.results_for(app_env.store, [visit], Backbone())
    assert calls == [vid]                   # with the encoder: recomputed by the current detector


def test_patient_list_never_says_no_concern_for_an_acknowledged_crisis_or_an_unread_patient(app_env):
    """A patient whose note spoke of an overdose, acknowledged, read "no concern found" in the list, as did a
    patient no model had scored: the status now says what was seen and what was not looked at."""
    from tests.test_pages_clinical import shipped_heads_version
    from tests.test_trends import store_heads

    ctx = app_env.ctx("psy")
    crisis_pid = patients.create_patient(ctx, "P-ACKED", consent_ml=True)
    vid = patients.add_visit(ctx, crisis_pid, "2026-03-02", CRISIS_NOTE)
    patients.acknowledge_crisis(ctx, vid, "Safety plan reviewed.")
    patients.add_visit(ctx, patients.create_patient(ctx, "P-UNREAD", consent_ml=True), "2026-03-02",
                       "Slept better, went for a walk.")
    scored = patients.add_visit(ctx, patients.create_patient(ctx, "P-SCORED", consent_ml=True), "2026-03-02",
                                "Slept better, went for a walk.")
    store_heads(app_env.store, scored, shipped_heads_version(app_env.settings))
    at = app_env.page("pages/patients.py", "psy").run()
    assert not at.exception
    df = at.dataframe[0].value
    status = dict(zip(df["Pseudonym"], df["Status"]))
    assert status == {"P-ACKED": "△ crisis language, acknowledged", "P-UNREAD": "◌ not analysed",
                      "P-SCORED": "○ no concern found"}
    legend = next(m.value for m in at.markdown if m.value.startswith("**Status**"))
    assert "data-reason='acknowledged'" in legend and "data-reason='not_analysed'" in legend
