"""Someone with write access to the database file (not to the audit key kept outside it) edits the trail.

Every case must make ``audit verify`` fail: an edited event, an event deleted and the chain recomputed (with plain
SHA-256, or with a guessed key), the newest events cut off, and the whole file swapped for an older copy. A
restore done through ``restore()`` is the one legitimate rewind and must verify. Someone who also holds the key
can rewrite everything on the host; a checkpoint the operator exported off the host still catches that.
"""

from __future__ import annotations

import json
import shutil

import pytest

from core.security import audit
from core.security.auth import console_actor
from core.security.backup import backup, restore
from core.storage import Store, open_store
from core.storage.audit import GENESIS, _digest, _mac, append_event, list_events, verify_report
from tests.attack.conftest import record

CASES: dict[str, bool] = {}


def _events(store, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        append_event(store, user_id=None, username="psy", action="patient.read", entity="patient", entity_id=i,
                     details={"i": i})


def _unlock(store) -> None:
    store.db.execute("DROP TRIGGER IF EXISTS audit_no_update")
    store.db.execute("DROP TRIGGER IF EXISTS audit_no_delete")


def _recompute(store, key: bytes | None) -> None:
    """Re-link and re-hash every event as an attacker would: plain SHA-256 (key None) or HMAC with ``key``."""
    _unlock(store)
    rows = store.db.execute("SELECT id, ts, user_id, username, action, entity, entity_id, details FROM audit_events"
                            " ORDER BY id").fetchall()
    prev = GENESIS
    for eid, ts, uid, uname, action, entity, entity_id, details in rows:
        digest = (_digest(prev, ts, uid, uname, action, entity, entity_id, details) if key is None
                  else _mac(key, eid, prev, ts, uid, uname, action, entity, entity_id, details))
        store.db.execute("UPDATE audit_events SET prev_hash = ?, hash = ?, keyed = ? WHERE id = ?",
                         [prev, digest, 0 if key is None else 1, eid])
        prev = digest


@pytest.fixture
def trail(settings):
    store = open_store(settings.database)
    _events(store, 120)  # signed head after every commit, checkpoint log at 50 and 100
    yield store
    store.close()


def _detected(name: str, store, files=()) -> None:
    report = verify_report(store, tuple(files))
    CASES[name] = not report.ok
    assert not report.ok, (name, report)
    _summary()


def _summary() -> None:
    record("audit tampering cases detected", f"{sum(CASES.values())} of {len(CASES)} ({', '.join(CASES)})")


def test_untouched_trail_verifies(trail):
    report = verify_report(trail)
    assert report.ok and report.checked == 120 and report.checkpoints >= 3, report


def test_edited_event(trail):
    _unlock(trail)
    trail.db.execute("UPDATE audit_events SET username = 'someone-else' WHERE id = 40")
    _detected("edited", trail)


def test_deleted_and_recomputed_with_plain_sha(trail):
    _unlock(trail)
    trail.db.execute("DELETE FROM audit_events WHERE id = 30")
    _recompute(trail, None)
    _detected("deleted+recomputed (SHA-256)", trail)


def test_deleted_and_recomputed_with_a_guessed_key(trail):
    _unlock(trail)
    trail.db.execute("DELETE FROM audit_events WHERE id = 30")
    _recompute(trail, b"a guessed key that is long enough to use!!")
    _detected("deleted+recomputed (guessed key)", trail)


def test_truncated_tail(trail):
    _unlock(trail)
    trail.db.execute("DELETE FROM audit_events WHERE id > 117")  # the last 3, no checkpoint-log entry covers them
    _detected("truncated tail (3 events)", trail)


def test_rolled_back_to_an_older_copy(settings, trail):
    trail.close()
    old = settings.database.with_name("copied-aside.db")
    shutil.copy(settings.database, old)  # a plain file copy, as an intruder would keep one
    again = open_store(settings.database)
    _events(again, 10, 1000)
    again.close()
    shutil.copy(old, settings.database)  # swapped back behind the app's back
    for side in ("-wal", "-shm"):
        settings.database.with_name(settings.database.name + side).unlink(missing_ok=True)
    _detected("rolled back to an older copy", Store(settings.database))


def test_insider_with_the_key_is_caught_by_an_exported_checkpoint(settings, trail, tmp_path):
    exported = tmp_path / "off-host-checkpoints.jsonl"
    exported.write_text(json.dumps(audit.checkpoint(trail, console_actor())) + "\n")  # the operator's copy
    key = settings.database.with_name("audit.key").read_text().strip().encode()
    _unlock(trail)
    trail.db.execute("DELETE FROM audit_events WHERE id = 60")
    _recompute(trail, key)
    # They also rewrite the signed head and the local log, which they can: the host alone cannot tell.
    from core.storage.audit import checkpoint_log_for, write_head

    checkpoint_log_for(trail).unlink()
    write_head(trail)
    assert verify_report(trail).ok
    _detected("rewritten with the key (caught by an off-host checkpoint)", trail, [exported])


def test_legitimate_restore_verifies_and_is_audited(settings, trail, tmp_path):
    trail.close()
    out = backup(settings.database, tmp_path / "bk.db", actor=console_actor())
    again = open_store(settings.database)
    _events(again, 30, 2000)
    again.close()
    restore(out, settings.database, actor=console_actor())
    restored = open_store(settings.database)
    report = verify_report(restored)
    assert report.ok, report
    actions = [e["action"] for e in list_events(restored, limit=10)]
    assert "backup.restore" in actions and "backup.create" in actions
    csv_text = audit.export_csv(restored, console_actor())
    assert "audit.export" in [e["action"] for e in list_events(restored, limit=3)] and csv_text
    assert verify_report(restored).ok
    restored.close()


def test_legacy_unkeyed_events_stay_verifiable_and_anchored(settings):
    """A trail written before the key (plain SHA-256 rows) verifies; the first keyed event pins it down."""
    store = open_store(settings.database)
    _unlock(store)
    prev = GENESIS
    for i in range(1, 6):  # what the previous release wrote
        args = ("2026-01-01T00:00:00+00:00", None, "psy", "patient.read", "patient", str(i), "{}")
        digest = _digest(prev, *args)
        store.db.execute("INSERT INTO audit_events (id, ts, user_id, username, action, entity, entity_id, details,"
                         " prev_hash, hash, keyed) VALUES (?,?,?,?,?,?,?,?,?,?,0)", [i, *args, prev, digest])
        prev = digest
    _events(store, 5)
    report = verify_report(store)
    assert report.ok and report.legacy == 5 and report.checked == 10, report
    store.db.execute("UPDATE audit_events SET entity_id = '99' WHERE id = 2")
    _recompute_prefix = verify_report(store)
    assert not _recompute_prefix.ok
    CASES["edited legacy event"] = True
    _summary()
    store.close()


def test_operator_exports_a_checkpoint_and_verifies_against_it(settings, trail, tmp_path, monkeypatch, capsys):
    from core.cli import main

    monkeypatch.setenv("MHD_DATA_DIR", str(settings.data_dir))
    off_host = tmp_path / "kept-elsewhere.jsonl"
    assert main(["audit", "checkpoint", "--out", str(off_host)]) == 0
    assert main(["audit", "verify", "--checkpoints", str(off_host)]) == 0
    assert "keyed chain intact" in capsys.readouterr().out
    _unlock(trail)
    trail.db.execute("DELETE FROM audit_events WHERE id > 100")
    assert main(["audit", "verify", "--checkpoints", str(off_host)]) == 1
    assert "missing" in capsys.readouterr().err
