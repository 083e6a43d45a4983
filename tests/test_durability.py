"""Durability and concurrency: private file, SIGKILL mid-write, many writers, read-only and full disks,
durable sign-offs, verified backup and restore."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.errors import StorageError
from core.security.backup import backup, integrity_check, restore
from core.storage import Store, connect, open_store, records
from tests import robustness

ROOT = Path(__file__).resolve().parent.parent
STRESS_SECONDS = float(os.environ.get("MHD_STRESS_SECONDS", "30"))


def _patient(store, owner=None) -> int:
    return records.insert_patient(store, f"P-{time.monotonic_ns()}", "", owner, True)


# ---------------------------------------------------------------- data at rest
def test_database_and_backups_are_private(tmp_path):
    db = tmp_path / "new" / "mhdash.db"
    store = open_store(db)
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(db.parent).st_mode) == 0o700
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
    # A file that exists with loose permissions is tightened when opened.
    os.chmod(db, 0o644)
    Store(db).db.execute("SELECT 1")
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    out = backup(db, tmp_path / "bk.db")
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600


# ---------------------------------------------------------------- crash safety
CHILD = r"""
import sys
from core.storage import open_store, records
store = open_store(sys.argv[1])
pid = records.insert_patient(store, "P-KILL", "", None, True)
for i in range(1000):
    [vid] = records.insert_visits(store, pid, [{"visit_date": "2026-01-01", "text": f"note {i} " + "x" * 500}], None)
    print(vid, flush=True)
"""


def test_sigkill_mid_inserts_keeps_every_committed_row(tmp_path):
    db = tmp_path / "kill.db"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(db)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    committed = []
    try:
        for line in proc.stdout:
            committed.append(int(line))
            if len(committed) == 300:
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the child finished before it could be killed"
    robustness.tried("sigkill")
    assert integrity_check(db) == "ok"
    store = open_store(db)
    present = {r["id"] for r in records.list_visits(store, records.get_patient(store, 1)["id"])}
    lost = [v for v in committed if v not in present]
    robustness.rows_lost(len(lost))
    assert lost == []
    assert len(present) < 1000
    # Every stored row is whole: text and hash agree.
    for v in records.list_visits(store, 1):
        assert records.text_hash(v["text"]) == v["text_hash"]


# ---------------------------------------------------------------- concurrency
@pytest.mark.slow
def test_many_writers_and_readers_lose_nothing(tmp_path):
    store = open_store(tmp_path / "busy.db")
    patients = [_patient(store) for _ in range(4)]
    errors: list[BaseException] = []
    written: list[int] = []
    reads = [0]
    lock = threading.Lock()
    stop = time.monotonic() + STRESS_SECONDS

    def writer(n: int):
        try:
            i = 0
            while time.monotonic() < stop:
                batch = [{"visit_date": "2026-01-01", "text": f"w{n} i{i} b{j}"} for j in range(1 + i % 3)]
                ids = records.insert_visits(store, patients[n % 4], batch, None)
                with lock:
                    written.extend(ids)
                i += 1
        except BaseException as exc:  # noqa: BLE001 - everything is a failure here
            errors.append(exc)
        finally:
            store.close()

    def reader():
        try:
            while time.monotonic() < stop:
                for pid in patients:
                    rows = records.list_visits(store, pid)
                    assert all(records.text_hash(r["text"]) == r["text_hash"] for r in rows[-20:])
                records.count_visits(store)
                with lock:
                    reads[0] += 1
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(20)]
    threads += [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=STRESS_SECONDS + 120)
    assert errors == []
    assert len(written) == len(set(written)) and written
    present = {v["id"] for pid in patients for v in records.list_visits(store, pid)}
    lost = set(written) - present
    robustness.tried("concurrency")
    robustness.rows_lost(len(lost))
    assert not lost
    assert records.count_visits(store) == len(written)
    assert records.is_integrity_ok(store)
    print(f"\nconcurrency: {len(written)} visits by 20 writers, {reads[0]} read rounds by 4 readers "
          f"in {STRESS_SECONDS:.0f} s, 0 errors, 0 lost")


# ---------------------------------------------------------------- hostile disks
def _readonly_store(path) -> Store:
    store = Store(path)
    store._local.db = connect(path, readonly=True)
    return store


def test_read_only_database_gives_a_clear_error_and_no_partial_rows(tmp_path):
    path = tmp_path / "ro.db"
    rw = open_store(path)
    pid = _patient(rw)
    rw.close()
    ro = _readonly_store(path)
    with robustness.case("read-only disk"), pytest.raises(StorageError, match="read-only; nothing was saved"):
        records.insert_visits(ro, pid, [{"visit_date": "2026-01-01", "text": "a"}] * 5, None)
    assert records.list_visits(ro, pid) == []


def test_full_disk_gives_a_clear_error_and_no_partial_rows(tmp_path):
    store = open_store(tmp_path / "full.db")
    pid = _patient(store)
    records.insert_visits(store, pid, [{"visit_date": "2026-01-01", "text": "before"}], None)
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages + 5}")
    big = [{"visit_date": "2026-01-02", "text": f"{i} " + "x" * 20_000} for i in range(20)]
    with robustness.case("full disk"), pytest.raises(StorageError, match="disk is full; nothing was saved"):
        records.insert_visits(store, pid, big, None)
    assert [v["text"] for v in records.list_visits(store, pid)] == ["before"]
    assert records.is_integrity_ok(store)
    # Once there is room again, writes work.
    store.db.execute("PRAGMA max_page_count = 1073741823")
    records.insert_visits(store, pid, big, None)
    assert len(records.list_visits(store, pid)) == 21


def test_sign_off_commits_with_synchronous_full(store, users):
    pid = _patient(store, users["psy"].id)
    [vid] = records.insert_visits(store, pid, [{"visit_date": "2026-01-01", "text": "note"}], None)
    aid = records.insert_analysis(store, visit_id=vid, kind="heads", task="heads", outputs={}, model_id="m",
                                  model_version="v1")
    seen: list[str] = []
    conn: sqlite3.Connection = store.db.conn
    conn.set_trace_callback(seen.append)
    try:
        records.sign_analysis(store, aid, users["psy"].id)
    finally:
        conn.set_trace_callback(None)
    full = next(i for i, s in enumerate(seen) if "synchronous = FULL" in s)
    commit = next(i for i, s in enumerate(seen) if s.strip().upper() == "COMMIT")
    assert full < commit
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 1  # back to NORMAL afterwards
    assert records.get_analysis(store, aid)["status"] == "signed"


# ---------------------------------------------------------------- backup and restore
def test_backup_while_writing_and_restore(tmp_path):
    db = tmp_path / "main.db"
    store = open_store(db)
    pid = _patient(store)
    records.insert_visits(store, pid, [{"visit_date": "2026-01-01", "text": f"v{i}"} for i in range(200)], None)
    stop = threading.Event()

    def keep_writing():
        s = Store(db)
        while not stop.is_set():
            records.insert_visits(s, pid, [{"visit_date": "2026-01-02", "text": "during"}], None)
        s.close()

    t = threading.Thread(target=keep_writing)
    t.start()
    try:
        out = backup(db, tmp_path / "backups")
    finally:
        stop.set()
        t.join()
    assert out.parent == tmp_path / "backups" and integrity_check(out) == "ok"
    snapshot = open_store(out)
    n = len(records.list_visits(snapshot, pid))
    snapshot.close()
    assert n >= 200
    records.insert_visits(store, pid, [{"visit_date": "2026-01-03", "text": "after backup"}], None)
    store.close()
    restore(out, db)
    restored = open_store(db)
    texts = [v["text"] for v in records.list_visits(restored, pid)]
    assert len(texts) == n and "after backup" not in texts
    assert records.is_integrity_ok(restored)


def test_corrupt_backup_is_refused_and_nothing_is_replaced(tmp_path):
    db = tmp_path / "main.db"
    store = open_store(db)
    pid = _patient(store)
    records.insert_visits(store, pid, [{"visit_date": "2026-01-01", "text": "keep me"}], None)
    store.close()
    out = backup(db, tmp_path / "bk.db")
    data = bytearray(out.read_bytes())
    data[5000:9000] = os.urandom(4000)
    bad = tmp_path / "bad.db"
    bad.write_bytes(bytes(data))
    for src in (bad, tmp_path / "garbage.db", tmp_path / "missing.db"):
        if src.name == "garbage.db":
            src.write_bytes(b"not a database at all" * 100)
        with robustness.case("corrupt backup"), pytest.raises(StorageError):
            restore(src, db)
    again = open_store(db)
    assert [v["text"] for v in records.list_visits(again, pid)] == ["keep me"]
    with pytest.raises(StorageError):
        backup(tmp_path / "nope.db", tmp_path / "x.db")
    with pytest.raises(StorageError):
        backup(db, db)


def test_backup_and_restore_commands(tmp_path, monkeypatch, capsys):
    from core.cli import main

    monkeypatch.setenv("MHD_DATA_DIR", str(tmp_path / "var"))
    assert main(["users", "create-admin"]) == 0
    assert main(["backup", str(tmp_path / "b.db")]) == 0
    assert "integrity_check ok" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", open(os.devnull))
    assert main(["restore", str(tmp_path / "b.db")]) == 2  # refuses without --yes when not interactive
    assert main(["restore", str(tmp_path / "b.db"), "--yes"]) == 0
