"""Who signed an output reads as a colleague would name them, from one helper used by the page and the export."""

from core.clinical.provenance import DISCLAIMER, signer
from core.context import Context
from core.security import auth
from core.storage import records


def test_signer_prefers_display_name_and_keeps_account_name():
    assert signer({"signed_by": 3, "signed_by_name": "dr.demo", "signed_by_display": "Dr Ana Demo"}) == \
        "Dr Ana Demo (dr.demo)"
    assert signer({"signed_by": 3, "signed_by_name": "dr.demo", "signed_by_display": ""}) == "dr.demo"
    assert signer({"signed_by": 3, "signed_by_name": None, "signed_by_display": None}) == "user 3"


def test_stored_analysis_carries_signers_display_name(store, settings, users):
    from core.clinical import analysis, patients

    auth.create_user(store, "dr.house", "a long enough passphrase 42", "psychiatrist", display_name="Dr Greg House",
                     actor=auth.console_actor(), must_change=False)
    user, _ = auth.login(store, settings, "dr.house", "a long enough passphrase 42")
    ctx = Context(store=store, settings=settings, user=user)
    pid = patients.create_patient(ctx, "P-SIGN", consent_ml=True)
    vid = patients.add_visit(ctx, pid, "2026-01-02", "Client reports low mood and poor sleep.")
    with store.tx():
        aid = records.insert_analysis(store, visit_id=vid, kind="heads", task="heads", outputs={}, model_id="m",
                                      model_version="v", prompt_version="", cache_key="k", duration_ms=1.0,
                                      created_by=user.id)
    analysis.sign(ctx, aid)
    assert signer(records.get_analysis(store, aid)) == "Dr Greg House (dr.house)"
    assert [signer(a) for a in records.list_analyses(store, [vid])] == ["Dr Greg House (dr.house)"]


def test_one_disclaimer_everywhere():
    import app.widgets as widgets
    from core.clinical import export

    assert widgets.DISCLAIMER is DISCLAIMER and export.DISCLAIMER is DISCLAIMER
