"""Opening the database and applying the recorded, versioned migrations.

Every connection runs in WAL mode with a busy timeout, so readers never block
the writer and concurrent writers wait instead of failing. The file is created
with mode 0600 because it holds protected health information.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from core.errors import StorageError

BUSY_TIMEOUT_MS = 30_000


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _create_private_file(path: Path) -> None:
    if not path.parent.exists():
        # Only a folder we create ourselves is made private; never touch an existing one (e.g. /tmp).
        with contextlib.suppress(FileExistsError):
            path.parent.mkdir(parents=True)
            os.chmod(path.parent, 0o700)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    os.chmod(path, 0o600)


def connect(path: Path | str, *, readonly: bool = False) -> sqlite_utils.Database:
    """Open (creating with mode 0600) a database with WAL and a busy timeout."""
    if str(path) == ":memory:":
        conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    else:
        path = Path(path)
        try:
            if readonly:
                conn = sqlite3.connect(
                    f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                    check_same_thread=False, isolation_level=None,
                )
            else:
                _create_private_file(path)
                conn = sqlite3.connect(
                    path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False, isolation_level=None
                )
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"Cannot open the database at {path}: {exc}") from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not readonly and str(path) != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as exc:
        raise StorageError(f"Cannot configure the database at {path}: {exc}") from exc
    return sqlite_utils.Database(conn)


@contextlib.contextmanager
def transaction(db: sqlite_utils.Database, *, durable: bool = False):
    """One atomic write: BEGIN IMMEDIATE .. COMMIT, rolled back on any error.

    ``durable`` switches to synchronous=FULL for the commit (sign-offs), so a
    power cut after return cannot lose the write.
    """
    conn = db.conn
    if conn.in_transaction:
        # Nested use joins the outer transaction: one commit for the whole unit of work.
        yield db
        return
    try:
        if durable:
            conn.execute("PRAGMA synchronous = FULL")
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise StorageError(_explain(exc)) from exc
    try:
        yield db
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise StorageError(_explain(exc)) from exc
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    finally:
        if durable:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA synchronous = NORMAL")


def _explain(exc: sqlite3.Error) -> str:
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        return "The database is read-only; nothing was saved. Check the file permissions."
    if "full" in text:
        return "The disk is full; nothing was saved. Free some space and try again."
    if "locked" in text or "busy" in text:
        return "The database is busy; nothing was saved. Try again in a moment."
    return f"Database error; nothing was saved ({text})."


class Store:
    """A database path plus one connection per thread (Streamlit runs sessions in threads)."""

    def __init__(self, path: Path | str):
        self.path = path
        self._local = threading.local()
        if str(path) == ":memory:":
            self._shared = connect(path)
        else:
            self._shared = None

    @property
    def db(self) -> sqlite_utils.Database:
        if self._shared is not None:
            return self._shared
        db = getattr(self._local, "db", None)
        if db is None:
            db = connect(self.path)
            self._local.db = db
        return db

    def tx(self, *, durable: bool = False):
        return transaction(self.db, durable=durable)

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.conn.close()
            self._local.db = None
