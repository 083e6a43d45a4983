"""Core functions no page reaches yet still check per-patient access: a future page cannot leak through them."""

from __future__ import annotations

import pytest

from core.clinical import analysis, patients
from core.context import Context
from core.errors import PermissionDenied
from core.storage.audit import list_events


class _Encoder:
    """Only the identity pending_work needs to name a heads result (no model runs)."""
    model_id, version = "enc", "v1"


@pytest.fixture
def other_patient(store, users, settings):
    ctxs = {n: Context(settings=settings, store=store, user=u) for n, u in users.items()}
    pid = patients.create_patient(ctxs["psy"], "P-OWN", "Maria Lopez", consent_ml=True)
    vid = patients.add_visit(ctxs["psy"], pid, "2026-01-05", "Maria Lopez wants to kill herself.")
    patients.acknowledge_crisis(ctxs["psy"], vid)
    return ctxs, pid, vid


def test_pending_work_checks_access_and_is_audited(other_patient):
    ctxs, pid, _ = other_patient
    for who in ("psy2", "qa", "admin", "lead"):  # lead reads all but does not run analyses
        with pytest.raises(PermissionDenied):
            analysis.pending_work(ctxs[who], pid, _Encoder())
    todo = analysis.pending_work(ctxs["psy"], pid, _Encoder())
    assert len(todo) == 1 and todo[0][1] is True
    assert list_events(ctxs["psy"].store, action="visit.pending")[0]["username"] == "psy"


def test_crisis_acknowledged_checks_access(other_patient):
    ctxs, _, vid = other_patient
    for who in ("psy2", "qa", "admin"):
        with pytest.raises(PermissionDenied):
            patients.crisis_acknowledged(ctxs[who], vid)
    assert [a["username"] for a in patients.crisis_acknowledged(ctxs["psy"], vid)] == ["psy"]
    assert [a["username"] for a in patients.crisis_acknowledged(ctxs["lead"], vid)] == ["psy"]
