"""The audit service: admins only, filters, verify, CSV export safe for spreadsheets, its own use audited."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest

from core.errors import PermissionDenied, ValidationError
from core.security import audit, auth
from core.storage.audit import append_event


def test_only_admins_read_the_trail(store, users):
    for name in ("psy", "lead", "qa"):
        with pytest.raises(PermissionDenied):
            audit.search(store, users[name])
        with pytest.raises(PermissionDenied):
            audit.verify(store, users[name])
        with pytest.raises(PermissionDenied):
            audit.export_csv(store, users[name])
    with pytest.raises(PermissionDenied):
        audit.search(store, None)


def test_filters(store, users):
    admin = users["admin"]
    append_event(store, user_id=users["psy"].id, username="psy", action="patient.read", entity="patient", entity_id=7)
    append_event(store, user_id=users["psy"].id, username="psy", action="model.run", entity="analysis", entity_id=3,
                 details={"model_version": "v2"})
    rows = audit.search(store, admin, audit.AuditFilter(username="psy"))
    assert [r["action"] for r in rows] == ["model.run", "patient.read"]
    assert rows[0]["details"] == {"model_version": "v2"}
    assert [r["entity_id"] for r in audit.search(store, admin, audit.AuditFilter(entity="patient"))] == ["7"]
    assert {r["action"] for r in audit.search(store, admin, audit.AuditFilter(action="user."))} == {"user.create"}
    assert audit.search(store, admin, audit.AuditFilter(entity_id="3"))[0]["action"] == "model.run"
    today = date.today()
    assert audit.search(store, admin, audit.AuditFilter(since=today + timedelta(days=2))) == []
    assert audit.search(store, admin, audit.AuditFilter(until=today + timedelta(days=1), limit=3)).__len__() == 3
    with pytest.raises(ValidationError):
        audit.search(store, admin, audit.AuditFilter(since=today, until=today - timedelta(days=1)))
    assert "audit.view" in audit.actions(store, admin)


def test_verify_is_recorded_and_detects_tampering(store, users):
    admin = users["admin"]
    result = audit.verify(store, admin)
    assert result.ok and result.checked >= 6
    store.db.execute("DROP TRIGGER audit_no_delete")
    store.db.execute("DELETE FROM audit_events WHERE id = 2")
    result = audit.verify(store, admin)
    assert not result.ok and result.first_bad_id == 3


def test_export_is_csv_with_hashes_and_no_formulas(store, users):
    admin = users["admin"]
    append_event(store, user_id=None, username="=HYPERLINK(\"http://evil\")", action="auth.login_failed",
                 entity="user")
    data = audit.export_csv(store, admin)
    rows = list(csv.DictReader(io.StringIO(data)))
    assert [int(r["id"]) for r in rows] == sorted(int(r["id"]) for r in rows)
    assert all(len(r["hash"]) == 64 for r in rows)
    evil = next(r for r in rows if "HYPERLINK" in r["username"])
    assert evil["username"].startswith("'=")
    assert audit.search(store, admin, audit.AuditFilter(action="audit.export"))


def test_console_actor_is_an_audited_admin(store, users):
    console = auth.console_actor()
    audit.verify(store, console)
    row = audit.search(store, users["admin"], audit.AuditFilter(action="audit.verify"))[0]
    assert row["username"] == "console" and row["user_id"] is None
