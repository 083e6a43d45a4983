"""Backup and restore of the database through SQLite's online backup API.

The backup API copies a consistent snapshot while the app keeps running (WAL
readers and writers are not blocked for long), unlike copying the file, which
can catch a half-written page or miss the WAL. Both directions are verified
with ``PRAGMA integrity_check`` and are atomic at the destination: the copy
is written to a temporary file beside it and renamed into place.

Every file is opened through ``core.storage.db.open_connection``, so with a
database key (SQLCipher) the backup is encrypted with the same passphrase and
is checked by decrypting it. ``key`` None means the configured key, "" plain.
``encrypt_database`` turns an existing plain database into an encrypted one.

Both are audited in the database they touch (``backup.create``, ``backup.restore``) and
checkpointed (``core.storage.audit``). A restore writes into the live file through the
backup API while holding the only lock on it, and is refused while anything else has
the database open: a running app would otherwise keep writing to the replaced file and
lose every write. The checkpoint log records the restore, signed, so ``audit verify``
accepts the rewound trail it made and still flags a database rolled back any other way.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from core.errors import ConfigError, DatabaseKeyError, StorageError
from core.storage import Store, migrate, utcnow
from core.storage.audit import append_event, chain_head, write_checkpoint, write_restore_record
from core.storage.db import (
    DB_ERRORS,
    PLAIN_HEADER,
    _sqlcipher,
    configured_key,
    export_encrypted_copy,
    file_header,
    open_connection,
    raw_key,
)
from core.storage.exclusive import exclusive_connection, integrity

__all__ = ["backup", "restore", "integrity_check", "encrypt_database"]

_PAGES_PER_STEP = 1024


def _integrity(path: Path | str, key: str | None) -> str:
    """``"ok"`` or SQLite's description of the problems; raises DatabaseKeyError when it cannot be decrypted."""
    try:
        conn = open_connection(path, readonly=True, key=key)
    except DatabaseKeyError:
        raise
    except StorageError as exc:
        return f"cannot open: {exc}"
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
        return "ok" if rows == [("ok",)] else "; ".join(str(r[0]) for r in rows[:5])
    except DB_ERRORS as exc:
        return str(exc)
    finally:
        conn.close()


def integrity_check(path: Path | str, *, key: str | None = None) -> str:
    """``"ok"`` or SQLite's description of the first problems found (or why the file cannot be decrypted)."""
    try:
        return _integrity(path, key)
    except DatabaseKeyError as exc:
        return str(exc)


def _private_tmp(dest: Path) -> Path:
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    return tmp


def _replace(tmp: Path, dest: Path) -> None:
    """Move the verified ``tmp`` onto ``dest`` durably (fsync the file, rename, fsync the folder)."""
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, dest)
    with contextlib.suppress(OSError):
        dirfd = os.open(dest.parent, os.O_RDONLY)
        os.fsync(dirfd)
        os.close(dirfd)


@contextlib.contextmanager
def _staged(tmp: Path, failure: str):
    """While a temporary copy is built: database and file errors become one StorageError starting with
    ``failure``, and the temporary file never outlives the block."""
    try:
        yield
    except DB_ERRORS as exc:
        raise StorageError(f"{failure}: {exc}") from exc
    except OSError as exc:
        raise StorageError(f"{failure}: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _verified_replace(tmp: Path, dest: Path, key: str, what: str) -> None:
    """Put ``tmp`` in place of ``dest`` only if it passes the integrity check."""
    result = _integrity(tmp, key)
    if result != "ok":
        raise StorageError(f"{what} failed its integrity check ({result}); nothing was replaced.")
    _replace(tmp, dest)


def _copy(src: Path, dest: Path, key: str) -> None:
    """Snapshot ``src`` into ``dest`` atomically (temp file + rename), mode 0600, verified."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _private_tmp(dest)
    with _staged(tmp, f"Copy from {src} to {dest} failed"):
        source = open_connection(src, readonly=True, key=key)
        try:
            # A new file keyed with the same passphrase (and its own salt) when encrypted.
            target = open_connection(tmp, key=key)
            try:
                source.backup(target, pages=_PAGES_PER_STEP)
                # A single-file copy: no WAL beside it to lose on the way.
                target.execute("PRAGMA journal_mode = DELETE")
            finally:
                target.close()
        finally:
            source.close()
        _verified_replace(tmp, dest, key, "The copy")


def _audit(db_path: Path, key: str, actor, action: str, **details) -> None:
    store = Store(db_path, key=key)
    try:
        migrate(store.db)
        append_event(store, user_id=getattr(actor, "id", None) or None,
                     username=getattr(actor, "username", None) or "console", action=action, entity="database",
                     entity_id=db_path.name, details=details)
    finally:
        store.close()


def _checkpoint(db_path: Path, key: str, reason: str) -> dict:

    store = Store(db_path, key=key)
    try:
        return write_checkpoint(store, reason=reason)
    finally:
        store.close()


def backup(db_path: Path | str, dest: Path | str, *, key: str | None = None, actor=None) -> Path:
    """Write a verified snapshot of the database at ``db_path`` to ``dest`` (audited as ``actor``, the
    console when None; the snapshot contains its own ``backup.create`` event).

    ``dest`` is a file, or a folder (existing, or a new path without a suffix) to write a time-stamped file into.
    """
    key = configured_key() if key is None else key
    src, dest = Path(db_path), Path(dest)
    if not src.exists():
        raise StorageError(f"There is no database at {src} to back up.")
    result = _integrity(src, key)
    if result != "ok":
        raise StorageError(f"The database at {src} fails its integrity check ({result}); not backed up.")
    if dest.is_dir() or (not dest.exists() and not dest.suffix):
        dest.mkdir(parents=True, exist_ok=True, mode=0o700)
        stamp = utcnow()[:19].replace(":", "").replace("-", "")
        dest = dest / f"{src.stem}-{stamp}.db"
    if dest.resolve() == src.resolve():
        raise StorageError("The backup destination is the database itself.")
    _audit(src, key, actor, "backup.create", dest=str(dest), encrypted=bool(key))
    _copy(src, dest, key)
    _checkpoint(src, key, "backup")
    return dest


def _drop_sidecars(db_path: Path) -> None:
    # The old database's WAL and shared-memory files belong to the replaced file.
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(str(db_path) + suffix).unlink()


def _head(db_path: Path, key: str) -> dict | None:

    store = Store(db_path, key=key)
    try:
        return chain_head(store)
    except (StorageError, *DB_ERRORS):
        return None
    finally:
        store.close()


def restore(src: Path | str, db_path: Path | str, *, key: str | None = None, actor=None) -> Path:
    """Replace the database at ``db_path`` with the verified backup ``src`` (audited as ``actor``).

    The backup is checked first; the current database is replaced only by a complete, verified copy, and only
    while nothing else has it open (DatabaseInUse otherwise: stop the app first). With a key, the backup must
    have been encrypted with the same passphrase (DatabaseKeyError otherwise).
    """
    key = configured_key() if key is None else key
    src, db_path = Path(src), Path(db_path)
    if not src.exists():
        raise StorageError(f"There is no backup at {src}.")
    result = _integrity(src, key)
    if result != "ok":
        raise StorageError(f"The backup {src} fails its integrity check ({result}); nothing was restored.")
    if db_path.exists() and src.resolve() == db_path.resolve():
        raise StorageError("The backup and the database are the same file.")
    previous = None
    if db_path.exists() and db_path.stat().st_size > 0:
        previous = _head(db_path, key)
        with exclusive_connection(db_path, key=key) as live:
            try:
                source = open_connection(src, readonly=True, key=key)
                try:
                    source.backup(live, pages=_PAGES_PER_STEP)
                finally:
                    source.close()
                result = integrity(live)
            except DB_ERRORS as exc:
                raise StorageError(f"Restoring {src} into {db_path} failed: {exc}") from exc
            if result != "ok":
                raise StorageError(f"The restored database fails its integrity check ({result}).")
    else:
        _copy(src, db_path, key)
        _drop_sidecars(db_path)
    _record_restore(src, db_path, key, actor, previous)
    return db_path


def _record_restore(src: Path, db_path: Path, key: str, actor, previous: dict | None) -> None:
    """The signed restore record in the checkpoint log, then the audit event and a fresh checkpoint."""

    store = Store(db_path, key=key)
    try:
        migrate(store.db)
        restored = write_restore_record(store, previous_head=previous, source=src.name)["restored_head"]
    finally:
        store.close()
    _audit(db_path, key, actor, "backup.restore", source=str(src), previous_head=previous, restored_head=restored)
    _checkpoint(db_path, key, "restore")


def encrypt_database(db_path: Path | str, *, key: str | None = None) -> Path:
    """Turn the plain database at ``db_path`` into a SQLCipher one keyed with ``key``, in place.

    ``sqlcipher_export`` copies schema and data into a new encrypted file (``user_version`` and
    ``application_id`` are copied here, as it does not), which is verified
    by decrypting it before it replaces the plain one. Stop the app first. The plain file's old disk blocks
    are not wiped: keep the disk encrypted as well.
    """
    key = configured_key() if key is None else key
    if not key:
        raise ConfigError("No database key is set: set MHD_DB_KEY (or db_key_file) first.")
    if _sqlcipher is None:
        raise ConfigError("SQLCipher is missing: pip install sqlcipher3-wheels")
    db_path = Path(db_path)
    if not db_path.exists():
        raise StorageError(f"There is no database at {db_path}.")
    if file_header(db_path) != PLAIN_HEADER:
        raise StorageError(f"{db_path} is not a plain SQLite database (already encrypted?); nothing was changed.")
    result = _integrity(db_path, "")
    if result != "ok":
        raise StorageError(f"The database at {db_path} fails its integrity check ({result}); not encrypted.")
    open_connection(db_path, key="").close()  # raises on a locked or unreadable file before we start
    tmp = _private_tmp(db_path)
    with _staged(tmp, f"Encrypting {db_path} failed"):
        export_encrypted_copy(db_path, tmp, raw_key(key, os.urandom(16), with_salt=True))
        _verified_replace(tmp, db_path, key, "The encrypted copy")
        _drop_sidecars(db_path)
    return db_path
