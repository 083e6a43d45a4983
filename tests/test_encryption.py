"""Encryption at rest: with a database key every file (database, backups) is SQLCipher; without one, plain SQLite."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest
import sqlcipher3.dbapi2 as sqlcipher

from core.errors import ConfigError, DatabaseKeyError, StorageError, WeakDatabaseKey
from core.security.backup import backup, encrypt_database, integrity_check, restore
from core.settings import load_settings
from core.storage import Store, connect, open_store, records

KEY = "a long test passphrase with 'quotes\" and ; -- ✓"
OTHER_KEY = "another long passphrase, not the right one"
PLAIN_HEADER = b"SQLite format 3\x00"


@pytest.fixture
def key(monkeypatch):
    """The configured key, as a deployment sets it: MHD_DB_KEY in the environment."""
    monkeypatch.setenv("MHD_DB_KEY", KEY)
    return KEY


@pytest.fixture
def store(key, settings):
    """Overrides conftest's ``store`` (and so ``users``): the same temp database, opened with the key."""
    from core.storage import open_store

    s = open_store(settings.database)
    yield s
    s.close()


def _header(path) -> bytes:
    return path.read_bytes()[:16]


def _plain_sqlite_cannot_read(path) -> None:
    conn = sqlite3.connect(path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="not a database"):
            conn.execute("SELECT * FROM sqlite_master").fetchall()
    finally:
        conn.close()


def _visit_texts(store, pid) -> list[str]:
    return [v["text"] for v in records.list_visits(store, pid)]


def test_encrypted_file_is_unreadable_without_the_key(store, users, settings):
    pid = records.insert_patient(store, "P-ENC", "Jane Roe", users["psy"].id, True)
    records.insert_visits(store, pid, [{"visit_date": "2026-01-01", "text": "secret note é😀"}], users["psy"].id)
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA cipher_version").fetchone()[0].startswith("4.")
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    path = settings.database
    assert _header(path) != PLAIN_HEADER
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert b"secret note" not in path.read_bytes() and b"Jane Roe" not in path.read_bytes()
    _plain_sqlite_cannot_read(path)


def test_data_round_trips_through_storage(store, users, settings):
    texts = ["first visit", "NUL \x00 inside", "right-to-left \u202e עברית", "emoji 😀" * 100]
    pid = records.insert_patient(store, "P-RT", "", users["psy"].id, True)
    records.insert_visits(store, pid, [{"visit_date": f"2026-01-0{i + 1}", "text": t}
                                       for i, t in enumerate(texts)], users["psy"].id)
    assert _visit_texts(store, pid) == texts
    store.close()
    # A new Store (other thread/process) with the configured key reads the same rows.
    again = open_store(settings.database)
    assert _visit_texts(again, pid) == texts
    assert records.is_integrity_ok(again)
    again.close()


def test_stock_sqlcipher_opens_it_with_the_passphrase(store, settings):
    """The raw key we derive equals SQLCipher 4's own key stretching: the passphrase works in any SQLCipher."""
    store.db["probe"].insert({"x": 1})
    store.close()
    conn = sqlcipher.connect(str(settings.database))
    conn.execute("PRAGMA key = '" + KEY.replace("'", "''") + "'")
    assert conn.execute("SELECT x FROM probe").fetchall() == [(1,)]
    conn.close()


def test_wrong_key_and_missing_key_give_a_named_error(store, settings):
    store.db["probe"].insert({"x": 1})
    store.close()
    with pytest.raises(DatabaseKeyError, match="cannot decrypt the database: wrong key or not an encrypted"):
        connect(settings.database, key=OTHER_KEY)
    with pytest.raises(DatabaseKeyError, match="encrypted"):
        connect(settings.database, key="")
    # The file is untouched by the failed attempts.
    assert Store(settings.database).db["probe"].count == 1


def test_a_plain_database_opened_with_a_key_is_refused_not_overwritten(tmp_path, key):
    path = tmp_path / "plain.db"
    plain = Store(path, key="")
    plain.db["t"].insert({"x": 1})
    plain.close()
    with pytest.raises(DatabaseKeyError, match="plain SQLite database.*encrypt-db"):
        connect(path)
    assert _header(path) == PLAIN_HEADER


@pytest.mark.parametrize("bad", ["changeme", "password", "short-key", "xxxxxxxxxxxxxxxxxxxxxxxx", "change-me-please-now"])
def test_placeholder_and_short_keys_are_refused(tmp_path, bad):
    with pytest.raises(WeakDatabaseKey):
        load_settings(env={"MHD_DB_KEY": bad})
    with pytest.raises(WeakDatabaseKey):
        connect(tmp_path / "x.db", key=bad)
    assert not (tmp_path / "x.db").exists()


def test_key_from_a_secrets_file(tmp_path):
    secret = tmp_path / "db_key"
    secret.write_text(KEY + "\n")
    s = load_settings(env={"MHD_DB_KEY_FILE": str(secret)})
    assert s.database_key == KEY and KEY not in repr(s)
    with pytest.raises(ConfigError):
        load_settings(env={"MHD_DB_KEY_FILE": str(tmp_path / "missing")})


def test_backup_and_restore_of_an_encrypted_database(store, users, settings, tmp_path):
    pid = records.insert_patient(store, "P-BK", "", users["psy"].id, True)
    records.insert_visits(store, pid, [{"visit_date": "2026-01-01", "text": "before backup"}], users["psy"].id)
    out = backup(settings.database, tmp_path / "backups")
    assert _header(out) != PLAIN_HEADER and b"before backup" not in out.read_bytes()
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    _plain_sqlite_cannot_read(out)
    assert integrity_check(out) == "ok"
    assert "cannot decrypt" in integrity_check(out, key=OTHER_KEY)

    records.insert_visits(store, pid, [{"visit_date": "2026-01-02", "text": "after backup"}], users["psy"].id)
    store.close()
    with pytest.raises(DatabaseKeyError):
        restore(out, settings.database, key=OTHER_KEY)
    restore(out, settings.database)
    assert _header(settings.database) != PLAIN_HEADER
    restored = open_store(settings.database)
    assert _visit_texts(restored, pid) == ["before backup"]
    assert records.is_integrity_ok(restored)
    restored.close()


def test_backup_and_restore_commands_with_a_key(key, tmp_path, monkeypatch, capsys):
    from core.cli import main

    monkeypatch.setenv("MHD_DATA_DIR", str(tmp_path / "var"))
    assert main(["users", "create-admin"]) == 0
    assert main(["backup", str(tmp_path / "b.db")]) == 0
    assert "encrypted, integrity_check ok" in capsys.readouterr().out
    assert _header(tmp_path / "b.db") != PLAIN_HEADER
    assert main(["restore", str(tmp_path / "b.db"), "--yes"]) == 0
    monkeypatch.setenv("MHD_DB_KEY", OTHER_KEY)
    assert main(["restore", str(tmp_path / "b.db"), "--yes"]) == 2
    assert "cannot decrypt the database" in capsys.readouterr().err


def test_encrypt_an_existing_plain_database(tmp_path, monkeypatch):
    monkeypatch.delenv("MHD_DB_KEY", raising=False)
    path = tmp_path / "var" / "mhdash.db"
    plain = open_store(path)
    pid = records.insert_patient(plain, "P-CONV", "", None, True)
    records.insert_visits(plain, pid, [{"visit_date": "2026-01-01", "text": f"note {i}"} for i in range(50)], None)
    version = plain.db.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
    plain.close()
    with pytest.raises(ConfigError):
        encrypt_database(path)
    encrypt_database(path, key=KEY)
    assert _header(path) != PLAIN_HEADER and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    _plain_sqlite_cannot_read(path)
    with pytest.raises(StorageError, match="not a plain SQLite"):
        encrypt_database(path, key=KEY)
    monkeypatch.setenv("MHD_DB_KEY", KEY)
    enc = open_store(path)
    assert _visit_texts(enc, pid) == [f"note {i}" for i in range(50)]
    assert enc.db.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == version
    assert records.is_integrity_ok(enc)
    enc.close()


def test_no_key_keeps_plain_sqlite(tmp_path, monkeypatch):
    monkeypatch.delenv("MHD_DB_KEY", raising=False)
    path = tmp_path / "plain.db"
    store = open_store(path)
    pid = records.insert_patient(store, "P-PLAIN", "", None, True)
    store.close()
    assert _header(path) == PLAIN_HEADER
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT pseudonym FROM patients WHERE id = ?", (pid,)).fetchone() is not None
    conn.close()
    out = backup(path, tmp_path / "bk.db")
    assert _header(out) == PLAIN_HEADER and integrity_check(out) == "ok"
