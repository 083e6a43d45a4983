import os
import stat

import pytest

from core.errors import SignedImmutable, StorageError
from core.storage import Store, migrate, open_store, records, schema_version
from core.storage.audit import append_event, verify_chain


def test_migrations_are_recorded_and_idempotent(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    first = migrate(store.db)
    assert first and first == sorted(first)
    assert migrate(store.db) == []
    assert schema_version(store.db) == max(first)


def test_concurrent_first_migrations_apply_each_version_once(tmp_path):
    """The app and init-db may open a new database at the same moment: nobody fails, nothing runs twice."""
    import threading

    path = tmp_path / "race.sqlite"
    start, errors, results = threading.Barrier(6), [], []

    def opener():
        try:
            start.wait()
            results.append(migrate(Store(path).db))
        except Exception as exc:  # any failure is the bug under test
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    applied = sorted(v for r in results for v in r)
    versions = [r[0] for r in Store(path).db.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert applied == versions and len(set(versions)) == len(versions)


def test_database_file_is_private_and_wal(tmp_path):
    path = tmp_path / "sub" / "db.sqlite"
    store = open_store(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_visits_insert_is_all_or_nothing(store, users):
    pid = records.insert_patient(store, "P-1", "", users["psy"].id, True)
    with pytest.raises(StorageError):
        records.insert_visits(store, pid, [{"visit_date": "2026-01-01", "text": "ok"},
                                           {"visit_date": None, "text": "second"}], None)
    assert records.list_visits(store, pid) == []


def test_signed_analysis_is_immutable_in_the_database(store, users):
    pid = records.insert_patient(store, "P-1", "", users["psy"].id, True)
    [vid] = records.insert_visits(store, pid, [{"visit_date": "2026-01-01", "text": "note"}], None)
    aid = records.insert_analysis(store, visit_id=vid, kind="heads", task="heads", outputs={"heads": {}},
                                  model_id="m", model_version="v1")
    records.sign_analysis(store, aid, users["psy"].id)
    with pytest.raises(SignedImmutable):
        records.sign_analysis(store, aid, users["psy"].id)
    with pytest.raises(StorageError, match="immutable|nothing was saved"):
        with store.tx():
            store.db.execute("UPDATE analyses SET outputs = '{}' WHERE id = ?", [aid])
    with pytest.raises(SignedImmutable):
        records.delete_draft_analysis(store, aid)
    assert records.get_analysis(store, aid)["outputs"] == {"heads": {}}


def test_audit_chain_detects_tampering(store):
    for i in range(5):
        append_event(store, user_id=None, username="t", action=f"a{i}", details={"i": i})
    assert verify_chain(store) == (True, None, 5)
    with pytest.raises(StorageError):
        with store.tx():
            store.db.execute("UPDATE audit_events SET action = 'x' WHERE id = 3")
    # Someone with file access drops the guard and edits a row: the chain shows where.
    store.db.execute("DROP TRIGGER audit_no_update")
    store.db.execute("UPDATE audit_events SET details = '{\"i\": 99}' WHERE id = 3")
    ok, bad, _ = verify_chain(store)
    assert not ok and bad == 3


def test_patient_search_escapes_wildcards(store, users):
    records.insert_patient(store, "A_1", "Ann", None, True)
    records.insert_patient(store, "AB1", "Bob", None, True)
    rows, total = records.list_patients(store, search="A_")
    assert [r["pseudonym"] for r in rows] == ["A_1"] and total == 1


def test_opening_makes_the_file_private_but_never_writable(tmp_path):
    path = tmp_path / "db.sqlite"
    open_store(path).db.conn.close()
    os.chmod(path, 0o644)
    Store(path).db.conn.close()  # opening again strips group/other access
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    os.chmod(path, 0o444)
    Store(path, key="").db.conn.close()  # a file made read-only on purpose stays read-only (its owner too)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o400
