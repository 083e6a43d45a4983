"""Backup and restore of the database through SQLite's online backup API.

The backup API copies a consistent snapshot while the app keeps running (WAL
readers and writers are not blocked for long), unlike copying the file, which
can catch a half-written page or miss the WAL. Both directions are verified
with ``PRAGMA integrity_check`` and are atomic at the destination: the copy
is written to a temporary file beside it and renamed into place.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from core.errors import StorageError

__all__ = ["backup", "restore", "integrity_check"]

_PAGES_PER_STEP = 1024


def integrity_check(path: Path | str) -> str:
    """``"ok"`` or SQLite's description of the first problems found."""
    try:
        conn = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return f"cannot open: {exc}"
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
        return "ok" if rows == [("ok",)] else "; ".join(str(r[0]) for r in rows[:5])
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        conn.close()


def _private_tmp(dest: Path) -> Path:
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    return tmp


def _copy(src: Path, dest: Path) -> None:
    """Snapshot ``src`` into ``dest`` atomically (temp file + rename), mode 0600, verified."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _private_tmp(dest)
    try:
        source = sqlite3.connect(f"file:{src}?mode=ro", uri=True, timeout=30)
        try:
            target = sqlite3.connect(tmp)
            try:
                source.backup(target, pages=_PAGES_PER_STEP)
                # A single-file copy: no WAL beside it to lose on the way.
                target.execute("PRAGMA journal_mode = DELETE")
            finally:
                target.close()
        finally:
            source.close()
        result = integrity_check(tmp)
        if result != "ok":
            raise StorageError(f"The copy failed its integrity check ({result}); nothing was replaced.")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
        with contextlib.suppress(OSError):
            dirfd = os.open(dest.parent, os.O_RDONLY)
            os.fsync(dirfd)
            os.close(dirfd)
    except sqlite3.Error as exc:
        raise StorageError(f"Copy from {src} to {dest} failed: {exc}") from exc
    except OSError as exc:
        raise StorageError(f"Copy from {src} to {dest} failed: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def backup(db_path: Path | str, dest: Path | str) -> Path:
    """Write a verified snapshot of the database at ``db_path`` to ``dest``.

    ``dest`` is a file, or a folder (existing, or a new path without a suffix) to write a time-stamped file into.
    """
    src, dest = Path(db_path), Path(dest)
    if not src.exists():
        raise StorageError(f"There is no database at {src} to back up.")
    result = integrity_check(src)
    if result != "ok":
        raise StorageError(f"The database at {src} fails its integrity check ({result}); not backed up.")
    if dest.is_dir() or (not dest.exists() and not dest.suffix):
        dest.mkdir(parents=True, exist_ok=True, mode=0o700)
        from core.storage import utcnow

        stamp = utcnow()[:19].replace(":", "").replace("-", "")
        dest = dest / f"{src.stem}-{stamp}.db"
    if dest.resolve() == src.resolve():
        raise StorageError("The backup destination is the database itself.")
    _copy(src, dest)
    return dest


def restore(src: Path | str, db_path: Path | str) -> Path:
    """Replace the database at ``db_path`` with the verified backup ``src``.

    The backup is checked first; the current database is replaced only by a complete, verified copy. Stop the
    app before restoring: open connections keep reading the old file.
    """
    src, db_path = Path(src), Path(db_path)
    if not src.exists():
        raise StorageError(f"There is no backup at {src}.")
    result = integrity_check(src)
    if result != "ok":
        raise StorageError(f"The backup {src} fails its integrity check ({result}); nothing was restored.")
    if db_path.exists() and src.resolve() == db_path.resolve():
        raise StorageError("The backup and the database are the same file.")
    _copy(src, db_path)
    # The old database's WAL and shared-memory files belong to the replaced file.
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(str(db_path) + suffix).unlink()
    return db_path
