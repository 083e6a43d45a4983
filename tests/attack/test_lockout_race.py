"""Parallel password guessing cannot outrun the lockout; the lockout does not reveal which usernames exist.

An attempt is "checked" when its password was compared (the answer is "wrong password" or "locked now"); an
attempt refused because the account was already locked is not. With the threshold at 5, at most 5 of 40
simultaneous guesses may be checked, whether they come from threads of one process or from 8 processes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest

from core.errors import AccountLocked, AuthError, RateLimited
from core.security import accounts, auth
from core.storage import accounts as account_rows
from core.storage.audit import list_events
from tests.attack.conftest import ROOT, record

THRESHOLD = 5
GUESSES = 40


def _outcome(exc: Exception | None) -> str:
    if exc is None:
        return "success"
    if isinstance(exc, AccountLocked):
        return "refused-locked" if str(exc) == auth.LOCKED_MESSAGE else "checked-locked-now"
    return "checked-wrong"


def _checked(outcomes: list[str]) -> int:
    return sum(o.startswith("checked") for o in outcomes)


def test_40_parallel_guesses_in_threads(store, settings, users):
    s = settings.replace(lockout_threshold=THRESHOLD)
    barrier = threading.Barrier(GUESSES)
    outcomes: list[str] = []
    lock = threading.Lock()

    def guess(i: int) -> None:
        barrier.wait()
        try:
            auth.login(store, s, "psy", f"wrong guess number {i}")
            out = _outcome(None)
        except AuthError as exc:
            out = _outcome(exc)
        with lock:
            outcomes.append(out)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(GUESSES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    record(f"passwords checked before lockout, {GUESSES} parallel guesses in threads (threshold {THRESHOLD})",
           _checked(outcomes))
    assert len(outcomes) == GUESSES and "success" not in outcomes
    assert _checked(outcomes) <= THRESHOLD, outcomes
    assert "checked-locked-now" in outcomes
    assert next(u for u in accounts.list_users(store, users["admin"]) if u["username"] == "psy")["locked"]


WORKER = """
import json, sys, threading, time
from core.errors import AccountLocked, AuthError
from core.security import auth
from core.settings import load_settings
from core.storage import Store
db, start, n = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
s = load_settings(env={}, db_path=db, lockout_threshold=THRESHOLD)
store = Store(db, key="")
out = []
def guess(i):
    while time.time() < start:
        time.sleep(0.001)
    try:
        auth.login(store, s, "psy", f"wrong from a process {i}")
        out.append("success")
    except AccountLocked as exc:
        out.append("refused-locked" if str(exc) == auth.LOCKED_MESSAGE else "checked-locked-now")
    except AuthError:
        out.append("checked-wrong")
ts = [threading.Thread(target=guess, args=(i,)) for i in range(n)]
[t.start() for t in ts]; [t.join() for t in ts]
print(json.dumps(out))
""".replace("THRESHOLD", str(THRESHOLD))


def test_40_parallel_guesses_from_8_processes(store, settings, users):
    store.close()
    start = time.time() + 8  # every worker has imported and opened the database by then
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(settings.database), str(start), "5"], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                                   "MHD_AUDIT_KEY_FILE": str(settings.database.parent / "audit.key")})
             for _ in range(8)]
    outcomes = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err[-2000:]
        outcomes += json.loads(out.strip().splitlines()[-1])
    record(f"passwords checked before lockout, {GUESSES} parallel guesses from 8 processes (threshold {THRESHOLD})",
           _checked(outcomes))
    assert len(outcomes) == GUESSES and "success" not in outcomes
    assert _checked(outcomes) <= THRESHOLD, outcomes


def test_unknown_names_lock_like_real_ones(store, settings, users, monkeypatch):
    """Same messages, same exception types, same argon2 work, at the same attempt, for a real and a made-up name."""
    s = settings.replace(lockout_threshold=3)
    checks = []
    real_check = auth.check_password
    monkeypatch.setattr(auth, "check_password", lambda h, p: checks.append(1) or real_check(h, p))

    def run(name: str) -> list[tuple[str, str]]:
        seen = []
        for _ in range(5):
            checks.clear()
            try:
                auth.login(store, s, name, "wrong password!")
            except AuthError as exc:
                seen.append((type(exc).__name__, str(exc)))
            assert len(checks) == 1  # one argon2 verification, whatever the outcome
        return seen

    assert run("psy") == run("ghost-who-does-not-exist")


def test_a_password_typed_as_the_username_is_not_kept(store, settings, users):
    secret = "Tr0ub4dor&3-horse-staple"
    with pytest.raises(AuthError):
        auth.login(store, settings, secret, "")
    for event in list_events(store, limit=100):
        assert all(secret not in str(v) for v in event.values()), event
    failed = list_events(store, action="auth.login_failed")[0]
    assert failed["username"] == "(unknown)" and "name_digest" in failed["details"]


def test_login_rate_limit_by_client_address(store, settings, users):
    s = settings.replace(login_rate_per_minute=20)
    refused = None
    for i in range(25):
        try:
            auth.login(store, s, "psy2" if i % 2 else "nobody", "wrong password!", client="203.0.113.9")
        except RateLimited as exc:
            refused = (i, exc.retry_after)
            break
        except AuthError:
            pass
    record("login attempts from one address before 429-style throttling", refused[0] if refused else "none")
    assert refused is not None and refused[0] == 20 and refused[1] > 0
    auth.login(store, s, "psy", "correct horse battery", client="198.51.100.7")  # another address is unaffected


def test_records_reserve_attempt_is_atomic_for_unknown_names(store):
    """The throttle table for unknown names counts under the same single transaction."""
    verdicts = [account_rows.reserve_login_attempt(store, user_id=None, name_digest="d" * 32, threshold=3,
                                              is_locked=lambda _t: True, lock_until="9999-01-01T00:00:00+00:00")
                for _ in range(4)]
    assert verdicts == ["ok", "ok", "last", "locked"]
