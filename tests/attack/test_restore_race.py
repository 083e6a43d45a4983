"""A restore while the app is writing is refused, and no acknowledged write is lost.

Before: ``restore()`` renamed a copy over the live file while the app's connections kept writing to the old one,
so every write acknowledged afterwards vanished (integrity check still "ok"). Now restore needs the only lock on
the database and writes the backup into the live file under it.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from core.clinical import patients
from core.errors import DatabaseInUse
from core.security.backup import backup, restore
from core.storage import Store, open_store, records
from core.storage import accounts as account_rows
from tests.attack.conftest import ROOT, record


def test_restore_is_refused_while_another_process_writes(app_env, tmp_path):
    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-RESTORE", consent_ml=True)
    db = app_env.settings.database
    app_env.store.close()
    out = backup(db, tmp_path / "bk.db")
    writer = subprocess.Popen([sys.executable, "-m", "tests.attack._writer", str(db), str(pid)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    acknowledged: list[int] = []
    refusals = 0
    try:
        assert writer.stdout.readline().strip() == "ready"
        reader = threading.Thread(target=lambda: acknowledged.extend(int(x) for x in writer.stdout if x.strip()),
                                  daemon=True)
        reader.start()
        time.sleep(0.5)
        for _ in range(3):
            with pytest.raises(DatabaseInUse, match="in use"):
                restore(out, db)
            refusals += 1
            time.sleep(0.2)
        assert writer.poll() is None, writer.stderr.read()[-2000:]  # it was writing all along
    finally:
        writer.kill()
        writer.wait(timeout=60)
    reader.join(timeout=60)
    store = open_store(db)
    present = {v["id"] for v in records.list_visits(store, pid)}
    lost = [v for v in acknowledged if v not in present]
    record("writes lost during a refused restore", f"{len(lost)} of {len(acknowledged)} acknowledged "
           f"({refusals} restores refused)")
    assert len(acknowledged) > 50 and lost == []
    assert records.is_integrity_ok(store)
    store.close()


def test_restore_is_refused_while_a_connection_of_this_process_is_open(app_env, tmp_path):
    db = app_env.settings.database
    out = backup(db, tmp_path / "bk.db")
    other = Store(db)
    account_rows.count_users(other)  # an open, idle connection (a Streamlit session thread)
    app_env.store.close()
    with pytest.raises(DatabaseInUse):
        restore(out, db)
    other.close()
    restore(out, db)  # nobody else: goes ahead


def test_writes_after_a_restore_are_kept(app_env, tmp_path):
    """The restore writes into the live file: whoever connects afterwards writes into the restored data."""
    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-AFTER", consent_ml=True)
    db = app_env.settings.database
    app_env.store.close()
    out = backup(db, tmp_path / "bk.db")
    restore(out, db)
    store = Store(db)
    records.insert_visits(store, pid, [{"visit_date": "2026-01-03", "text": "after the restore"}], None)
    store.close()
    again = open_store(db)
    assert [v["text"] for v in records.list_visits(again, pid)] == ["after the restore"]
    again.close()
