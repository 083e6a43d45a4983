"""The service calls write the audit events issue 7 asks for: who, what, which record, which model version.

Model runs, sign-offs, patient reads and reads of analysis outputs (PHI-derived) each leave one event; a refused
call leaves none. The model run uses the shipped heads on the embedded encoder, not a stand-in.
"""

from __future__ import annotations

import json
from functools import lru_cache

import pytest

from core.clinical import analysis, patients
from core.context import Context
from core.errors import PermissionDenied
from core.models.heads import HEADS
from core.storage import records
from core.storage.audit import list_events

NOTE = "Has stopped seeing friends; sleeps badly; sister calls every Sunday."


@lru_cache(maxsize=1)
def shipped_encoder():
    from core.models.encoder import load_encoder
    from core.settings import load_settings

    return load_encoder(load_settings(env={}, device="cpu"))


def _events(store, action: str) -> list[dict]:
    return [{**e, "details": json.loads(e["details"])} for e in reversed(list_events(store, action=action))]


@pytest.fixture
def ctxs(settings, store, users):
    return {name: Context(settings=settings, store=store, user=u) for name, u in users.items()}


@pytest.fixture
def visit(ctxs):
    pid = patients.create_patient(ctxs["psy"], "P-AUDIT", display_name="Jo", consent_ml=True)
    vid = patients.add_visit(ctxs["psy"], pid, "2026-01-05", NOTE)
    return pid, vid


def _stored_heads(store, vid: int, version: str = "h-7") -> int:
    return records.insert_analysis(store, visit_id=vid, kind="heads", task="heads", model_id="enc",
                                   model_version=version, outputs={"heads": {
                                       h.name: {"value": (h.low + h.high) / 2, "std": 0.1} for h in HEADS}})


def test_model_run_is_audited_with_its_model_version(ctxs, store, visit):
    _, vid = visit
    encoder = shipped_encoder()
    result = analysis.run_heads(ctxs["psy"], vid, encoder)
    [event] = _events(store, "model.run")
    assert event["username"] == "psy" and event["entity"] == "analysis" and event["entity_id"] == str(result["id"])
    assert event["details"]["model_version"] == encoder.version == result["model_version"]
    assert event["details"]["visit_id"] == vid and event["details"]["kind"] == "heads"
    analysis.run_heads(ctxs["psy"], vid, encoder)  # stored result: no model ran, so no second event
    assert len(_events(store, "model.run")) == 1


def test_sign_off_is_audited_with_model_version_before_and_after(ctxs, store, visit):
    _, vid = visit
    aid = _stored_heads(store, vid)
    analysis.sign(ctxs["psy"], aid)
    [event] = _events(store, "analysis.sign")
    assert event["username"] == "psy" and event["entity_id"] == str(aid)
    assert event["details"]["model_version"] == "h-7"
    assert (event["details"]["before"], event["details"]["after"]) == ("draft", "signed")


def test_patient_read_is_audited_per_reader(ctxs, store, visit):
    pid, _ = visit
    patients.get_patient(ctxs["psy"], pid)
    patients.get_patient(ctxs["lead"], pid)
    with pytest.raises(PermissionDenied):
        patients.get_patient(ctxs["psy2"], pid)
    events = _events(store, "patient.read")
    assert [(e["username"], e["entity"], e["entity_id"]) for e in events] == [
        ("psy", "patient", str(pid)), ("lead", "patient", str(pid))]


def test_analysis_reads_are_audited_with_records_and_model_versions(ctxs, store, visit):
    pid, vid = visit
    first, second = _stored_heads(store, vid, "h-7"), _stored_heads(store, vid, "h-8")
    assert len(analysis.patient_analyses(ctxs["psy"], pid)) == 2
    assert len(analysis.visit_analyses(ctxs["lead"], vid)) == 2
    for who in ("psy2", "qa", "admin"):  # refused reads are not reads
        with pytest.raises(PermissionDenied):
            analysis.patient_analyses(ctxs[who], pid)
        with pytest.raises(PermissionDenied):
            analysis.visit_analyses(ctxs[who], vid)
    by_patient, by_visit = _events(store, "analysis.read")
    assert (by_patient["username"], by_patient["entity"], by_patient["entity_id"]) == ("psy", "patient", str(pid))
    assert (by_visit["username"], by_visit["entity"], by_visit["entity_id"]) == ("lead", "visit", str(vid))
    assert by_visit["details"]["patient_id"] == pid
    for event in (by_patient, by_visit):
        assert event["details"]["analysis_ids"] == [first, second]
        assert event["details"]["model_versions"] == ["h-7", "h-8"]
