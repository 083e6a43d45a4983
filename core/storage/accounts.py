"""Data access for accounts: users, login throttling, single sign-on identities and sessions.

All SQL of these tables lives here, every value bound as a parameter.
"""

from __future__ import annotations

from core.errors import StorageError, ValidationError
from core.storage.db import Store, query_one, query_rows, utcnow


# ---------------------------------------------------------------- users
def insert_user(store: Store, username: str, display_name: str, role: str, password_hash: str,
                must_change_password: bool = False) -> int:
    try:
        with store.tx():
            cur = store.db.execute(
                "INSERT INTO users (username, display_name, role, password_hash, created_at, must_change_password)"
                " VALUES (?,?,?,?,?,?)",
                [username, display_name, role, password_hash, utcnow(), int(bool(must_change_password))],
            )
    except StorageError as exc:
        if "UNIQUE" in str(exc):
            raise ValidationError(f"A user named {username!r} already exists") from exc
        raise
    return cur.lastrowid


def get_user(store: Store, user_id: int) -> dict | None:
    return query_one(store, "SELECT * FROM users WHERE id = ?", [user_id])


def get_user_by_name(store: Store, username: str) -> dict | None:
    return query_one(store, "SELECT * FROM users WHERE username = ?", [username])


def list_users(store: Store) -> list[dict]:
    return query_rows(
        store,
        "SELECT id, username, display_name, role, active, failed_logins, locked_until, created_at, "
        "must_change_password FROM users ORDER BY username",
    )


def count_users(store: Store) -> int:
    return store.db.execute("SELECT COUNT(*) FROM users").fetchone()[0]


def update_user(store: Store, user_id: int, **fields) -> None:
    allowed = {"display_name", "role", "password_hash", "active", "failed_logins", "locked_until",
               "must_change_password"}
    bad = set(fields) - allowed
    if bad:
        raise ValueError(f"cannot update {bad}")
    assignments = ", ".join(f"{k} = ?" for k in fields)  # column names from the allow-list above
    with store.tx():
        store.db.execute(f"UPDATE users SET {assignments} WHERE id = ?", [*fields.values(), user_id])


def reserve_login_attempt(store: Store, *, user_id: int | None, name_digest: str, threshold: int,
                          is_locked, lock_until: str) -> str:
    """Count one login attempt before its password is checked, atomically (one BEGIN IMMEDIATE), so parallel
    guesses cannot all read the same count: 'locked' (refuse without checking), 'last' (this attempt is the
    threshold-th: the account is locked now, the attempt is still checked) or 'ok'.

    ``user_id`` None counts the attempt against ``name_digest`` in ``login_throttle`` (a username with no
    account locks exactly like a real one). ``is_locked(locked_until_text)`` decides whether a lock is live.
    """
    now = utcnow()
    with store.tx():
        if user_id is not None:
            row = store.db.execute("SELECT failed_logins, locked_until FROM users WHERE id = ?",
                                   [user_id]).fetchone()
        else:
            row = store.db.execute("SELECT failed_logins, locked_until FROM login_throttle WHERE name_digest = ?",
                                   [name_digest]).fetchone()
        failures, locked_until = row if row else (0, None)
        if locked_until and is_locked(locked_until):
            return "locked"
        failures += 1
        verdict = "last" if failures >= threshold else "ok"
        values = (0, lock_until) if verdict == "last" else (failures, None)
        if user_id is not None:
            store.db.execute("UPDATE users SET failed_logins = ?, locked_until = ? WHERE id = ?", [*values, user_id])
        else:
            store.db.execute(
                "INSERT INTO login_throttle (name_digest, failed_logins, locked_until, updated_at) VALUES (?,?,?,?)"
                " ON CONFLICT(name_digest) DO UPDATE SET failed_logins = excluded.failed_logins,"
                " locked_until = excluded.locked_until, updated_at = excluded.updated_at",
                [name_digest, *values, now],
            )
    return verdict


def prune_login_throttle(store: Store, before: str) -> None:
    """Forget failed-login counts of unknown usernames last touched before ``before`` (ISO time)."""
    with store.tx():
        store.db.execute("DELETE FROM login_throttle WHERE updated_at < ?", [before])


# ---------------------------------------------------------------- single sign-on identities
def get_identity(store: Store, issuer: str, subject: str) -> dict | None:
    return query_one(store, "SELECT * FROM user_identities WHERE issuer = ? AND subject = ?", [issuer, subject])


def identities_of(store: Store, user_id: int, issuer: str) -> list[dict]:
    return query_rows(store, "SELECT * FROM user_identities WHERE user_id = ? AND issuer = ?", [user_id, issuer])


def insert_identity(store: Store, issuer: str, subject: str, user_id: int, email: str) -> None:
    with store.tx():
        store.db.execute(
            "INSERT INTO user_identities (issuer, subject, user_id, email, created_at) VALUES (?,?,?,?,?)",
            [issuer, subject, user_id, email, utcnow()],
        )


# ---------------------------------------------------------------- sessions
def insert_session(store: Store, token_hash: str, user_id: int, method: str = "password") -> None:
    now = utcnow()
    with store.tx():
        store.db.execute(
            "INSERT INTO sessions (token_hash, user_id, created_at, last_seen, method) VALUES (?,?,?,?,?)",
            [token_hash, user_id, now, now, method],
        )


def get_session(store: Store, token_hash: str) -> dict | None:
    return query_one(store, "SELECT * FROM sessions WHERE token_hash = ?", [token_hash])


def touch_session(store: Store, token_hash: str) -> None:
    with store.tx():
        store.db.execute("UPDATE sessions SET last_seen = ? WHERE token_hash = ?", [utcnow(), token_hash])


def revoke_session(store: Store, token_hash: str) -> None:
    with store.tx():
        store.db.execute("UPDATE sessions SET revoked = 1 WHERE token_hash = ?", [token_hash])
