"""A record and its audit event commit in one transaction: SIGKILL at any moment leaves both or neither.

Writers add visits in a loop (``patients.add_visit``) and are killed with SIGKILL at random moments, several at
a time. Afterwards every visit must have its ``visit.create`` event, every event its visit, every acknowledged
visit must be there, and the trail must verify.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

from core.clinical import patients
from core.storage import open_store
from core.storage.audit import list_events, verify_report
from tests.attack.conftest import ROOT, record

ROUNDS, WRITERS = 4, 4


def _spawn(db, pid):
    return subprocess.Popen([sys.executable, "-m", "tests.attack._writer", str(db), str(pid)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_sigkill_never_leaves_a_visit_without_its_event(app_env):
    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-KILL", consent_ml=True)
    db = app_env.settings.database
    rng = random.Random(7)
    acknowledged: set[int] = set()
    for _ in range(ROUNDS):
        procs = [_spawn(db, pid) for _ in range(WRITERS)]
        for p in procs:
            assert p.stdout.readline().strip() == "ready", p.stderr.read()[-2000:]
        time.sleep(rng.uniform(0.3, 1.2))
        for p in procs:
            os.kill(p.pid, signal.SIGKILL)
        for p in procs:
            out, _ = p.communicate(timeout=60)
            acknowledged |= {int(x) for x in out.split() if x.isdigit()}
    store = open_store(db)
    visits = {v["id"] for v in patients.list_visits(ctx, pid)}
    events = {int(e["entity_id"]) for e in list_events(store, action="visit.create", limit=10**6)}
    orphans = visits - events
    record(f"visits without an audit event after {ROUNDS * WRITERS} SIGKILLs", f"{len(orphans)} "
           f"({len(visits)} visits written, {len(acknowledged - visits)} acknowledged lost)")
    assert acknowledged and acknowledged <= visits
    assert orphans == set(), sorted(orphans)[:10]
    assert events - visits == set()
    assert verify_report(store).ok
    store.close()


def test_patient_create_and_update_carry_their_events(app_env):
    """The same single transaction for patients: a refused write leaves neither record nor event."""
    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-ATOM", consent_ml=False)
    patients.update_patient(ctx, pid, consent_ml=True)
    store = app_env.store
    assert [e["entity_id"] for e in list_events(store, action="patient.create")] == [str(pid)]
    assert json.loads(list_events(store, action="patient.update")[0]["details"])["after"]["consent_ml"] is True
