"""AppTest of the clinical pages: patients, patient, cohort — per role and state."""

import pytest

from core import patients

CRISIS_NOTE = "Session 4. Says she wants to kill herself and has been stockpiling pills."


def texts(at) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.title] + [e.value for e in at.caption]
    parts += [e.value for e in at.error] + [e.value for e in at.info] + [e.value for e in at.warning]
    parts += [e.value for e in at.success]
    return "\n".join(str(p) for p in parts)


def test_no_page_renders_before_login(app_env):
    for page in ["pages/patients.py", "pages/patient.py", "pages/cohort.py"]:
        at = app_env.page(page, None).run()
        assert not at.exception
        assert [b.label for b in at.button] == ["Log in"]
        assert "Patients" not in [t.value for t in at.title]


def test_patients_page_empty_then_create(app_env):
    at = app_env.page("pages/patients.py", "psy").run()
    assert not at.exception
    assert "No patients yet." in texts(at)
    at.text_input(key="new_pseudonym").input("P-100")
    at.checkbox(key="new_consent").check()
    at.button[-1].click()  # the form's submit button
    at.run()
    assert not at.exception
    page = patients.list_patients(app_env.ctx("psy"))
    assert [r["pseudonym"] for r in page.rows] == ["P-100"] and page.rows[0]["consent_ml"] == 1


def test_patient_page_without_consent_says_why(app_env):
    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-1", consent_ml=False)
    patients.add_visit(ctx, pid, "2026-01-05", "Low mood.")
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not at.exception
    assert "not consented to ML analysis" in texts(at)
    assert not any(b.key == "analyse_all" for b in at.button)


def test_crisis_banner_needs_acknowledgement_and_is_logged(app_env):
    from core.storage.audit import list_events

    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-1", consent_ml=True)
    vid = patients.add_visit(ctx, pid, "2026-01-05", CRISIS_NOTE)
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert "Crisis language detected" in texts(at)
    at.button(key=f"ack_{vid}").click().run()
    assert not at.exception
    assert "acknowledged" in texts(at)
    assert list_events(app_env.store, action="crisis.acknowledge")


def test_other_psychiatrists_patient_is_refused(app_env):
    pid = patients.create_patient(app_env.ctx("psy"), "P-1", consent_ml=True)
    at = app_env.page("pages/patient.py", "psy2", patient_id=pid).run()
    assert not at.exception
    assert "another psychiatrist" in texts(at)


def test_add_visit_by_paste_and_empty_note_refused(app_env):
    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-1", consent_ml=True)
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    at.text_area(key="paste_text").input("   ")
    next(b for b in at.button if b.label == "Add visit").click()
    at.run()
    assert "The note is empty." in texts(at)
    at.text_area(key="paste_text").input("Sleeping better; saw friends twice this week.")
    next(b for b in at.button if b.label == "Add visit").click()
    at.run()
    assert not at.exception
    assert [v["text"] for v in patients.list_visits(ctx, pid)] == ["Sleeping better; saw friends twice this week."]


@pytest.mark.parametrize("role,allowed", [("lead", True), ("psy", False), ("qa", False)])
def test_cohort_page_by_role(app_env, role, allowed):
    at = app_env.page("pages/cohort.py", role).run()
    assert not at.exception
    if allowed:
        assert any(m.label == "Patients" for m in at.metric)
    else:
        assert "does not allow" in texts(at)


def test_demo_cohort_lists_synthetic_patients(app_env):
    at = app_env.page("pages/patients.py", "lead", demo_mode=True).run()
    assert not at.exception
    df = at.dataframe[0].value
    assert len(df) == 12 and df["Pseudonym"].str.startswith("DEMO-").all()


def test_patient_page_says_when_no_trained_heads_are_installed(app_env, tmp_path, monkeypatch):
    monkeypatch.setenv("MHD_HEADS_DIR", str(tmp_path / "no-heads"))
    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-1", consent_ml=True)
    patients.add_visit(ctx, pid, "2026-01-05", "Low mood.")
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not at.exception
    assert "No trained heads checkpoint is installed" in texts(at)
    assert not any(b.key == "analyse_all" for b in at.button)


@pytest.mark.slow
def test_analyse_with_the_real_encoder_shows_scores_and_trajectories(app_env):
    from core import analysis

    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-1", consent_ml=True)
    patients.add_visit(ctx, pid, "2026-01-05", "Sees friends every weekend; partner is very supportive.")
    patients.add_visit(ctx, pid, "2026-02-05", "Has cut off everyone, stays alone all week, nobody to turn to.")
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    at.button(key="analyse_all").click().run(timeout=300)
    assert not at.exception
    rows = analysis.patient_analyses(ctx, pid)
    assert [a["kind"] for a in rows] == ["heads", "heads"]
    assert all(a["model_version"].startswith("v") for a in rows)
    charts = at.get("plotly_chart")
    assert len(charts) >= 1 + 5  # the latest visit's scores and one trajectory per head
    # A rerun recomputes nothing: results are stored.
    at.button(key="analyse_all").click().run(timeout=300)
    assert len(analysis.patient_analyses(ctx, pid)) == 2
    iso = [a["outputs"]["heads"]["isolation"]["value"] for a in rows]
    assert iso[1] > iso[0], "the isolated note should score higher on isolation"
