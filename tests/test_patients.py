import pytest

from core.clinical import patients
from core.context import Context
from core.errors import ConsentRequired, PermissionDenied, ValidationError


def ctx_for(settings, store, user, demo=False):
    return Context(settings=settings, store=store, user=user, demo=demo)


def test_psychiatrist_sees_only_own_patients(settings, store, users):
    psy, psy2 = ctx_for(settings, store, users["psy"]), ctx_for(settings, store, users["psy2"])
    mine = patients.create_patient(psy, "P-001", "Ann Example", True)
    patients.create_patient(psy2, "P-002", "Bo Example", True)
    page = patients.list_patients(psy)
    assert [r["pseudonym"] for r in page.rows] == ["P-001"]
    with pytest.raises(PermissionDenied):
        patients.get_patient(psy2, mine)
    with pytest.raises(PermissionDenied):
        patients.add_visit(psy2, mine, "2026-01-05", "note")
    lead = ctx_for(settings, store, users["lead"])
    assert patients.list_patients(lead).total == 2
    with pytest.raises(PermissionDenied):
        patients.add_visit(lead, mine, "2026-01-05", "note")


@pytest.mark.parametrize("role", ["qa", "admin"])
def test_roles_without_patient_access_are_refused(settings, store, users, role):
    with pytest.raises(PermissionDenied):
        patients.list_patients(ctx_for(settings, store, users[role]))
    with pytest.raises(PermissionDenied):
        patients.create_patient(ctx_for(settings, store, users[role]), "P-9")


def test_visit_validation(settings, store, users):
    ctx = ctx_for(settings, store, users["psy"])
    pid = patients.create_patient(ctx, "P-001", consent_ml=True)
    for bad_text in ["", "   \n", "a" * (settings.max_text_chars + 1), "bad \ud800 surrogate"]:
        with pytest.raises(ValidationError):
            patients.add_visit(ctx, pid, "2026-01-05", bad_text)
    for bad_date in ["2026-02-30", "yesterday", "1800-01-01"]:
        with pytest.raises(ValidationError):
            patients.add_visit(ctx, pid, bad_date, "note")
    vid = patients.add_visit(ctx, pid, "2026-01-05", "  Low mood this week.  ")
    [visit] = patients.list_visits(ctx, pid)
    assert visit["id"] == vid and visit["text"] == "Low mood this week."


def test_no_analysis_without_consent(settings, store, users):
    from core.clinical.analysis import _visit_for_run

    ctx = ctx_for(settings, store, users["psy"])
    pid = patients.create_patient(ctx, "P-001", consent_ml=False)
    vid = patients.add_visit(ctx, pid, "2026-01-05", "note")
    with pytest.raises(ConsentRequired, match="consent"):
        _visit_for_run(ctx, vid)
    patients.update_patient(ctx, pid, consent_ml=True)
    _visit_for_run(ctx, vid)


def test_crisis_acknowledgement_is_logged(settings, store, users):
    from core.storage.audit import list_events

    ctx = ctx_for(settings, store, users["psy"])
    pid = patients.create_patient(ctx, "P-001", consent_ml=True)
    vid = patients.add_visit(ctx, pid, "2026-01-05", "She said she wants to kill herself.")
    [visit] = patients.list_visits(ctx, pid)
    assert visit["crisis"].flagged
    patients.acknowledge_crisis(ctx, vid)
    assert [a["username"] for a in patients.crisis_acknowledged(ctx, vid)] == ["psy"]
    assert list_events(store, action="crisis.acknowledge")[0]["entity_id"] == str(vid)


def test_demo_mode_is_open_to_demo_users_and_reset_needs_lead(settings, users):
    from core.clinical import demo
    from core.storage import open_store

    demo_store = open_store(settings.demo_database)
    demo.seed_demo(demo_store)
    demo.mirror_user(demo_store, users["psy"])
    ctx = ctx_for(settings, demo_store, users["psy"], demo=True)
    page = patients.list_patients(ctx, page_size=50)
    assert page.total == 12 and all(r["pseudonym"].startswith("DEMO-") for r in page.rows)
    with pytest.raises(PermissionDenied):
        demo.reset_for(ctx)
    demo.mirror_user(demo_store, users["lead"])
    assert demo.reset_for(ctx_for(settings, demo_store, users["lead"], demo=True)) == 12
