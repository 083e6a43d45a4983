"""Exclusive access to a live database file, for replacing its contents (restore).

A connection in ``locking_mode = EXCLUSIVE`` that starts an exclusive transaction
succeeds only when no other connection, in this process or another, has the file
open for reading or writing (in WAL mode every open connection holds a shared lock
on the WAL index). Once it has the lock it keeps it until it closes, so nobody can
read the old contents or write to them while they are being replaced, and whoever
opens the database afterwards sees the new contents: nothing is written to a file
that is about to be swapped out.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from core.errors import DatabaseInUse
from core.storage.db import DB_ERRORS, open_connection

# How long to wait for other connections to finish before refusing, in seconds.
WAIT_SECONDS = 2.0


@contextlib.contextmanager
def exclusive_connection(path: Path | str, *, key: str, wait_seconds: float = WAIT_SECONDS):
    """A raw connection holding the only lock on ``path``; DatabaseInUse when anything else has it open."""
    conn = open_connection(path, key=key)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(wait_seconds * 1000)}")
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        try:
            conn.execute("BEGIN EXCLUSIVE")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            conn.execute("COMMIT")
        except DB_ERRORS as exc:
            raise DatabaseInUse(
                f"The database at {path} is in use (the app, an API server or another command has it open); "
                "nothing was restored. Stop them and try again."
            ) from exc
        yield conn
    finally:
        conn.close()


def integrity(conn) -> str:
    rows = conn.execute("PRAGMA integrity_check").fetchall()
    return "ok" if rows == [("ok",)] else "; ".join(str(r[0]) for r in rows[:5])
