"""Account management by administrators: list, find, disable or enable, change a role, reset a password,
unlock. Every change is audited, and the last active admin can never be removed."""

from __future__ import annotations

import secrets
from datetime import datetime

from core.errors import NotFound, ValidationError
from core.security import auth
from core.security.auth import ROLE_LABELS, ROLES, User, account, hash_password, require, validate_password
from core.storage import Store
from core.storage import accounts as account_rows
from core.storage.audit import append_event


def _audit_actor(actor: User) -> dict:
    return {"user_id": actor.id or None, "username": actor.username}



def _active_admins(store: Store) -> list[dict]:
    return [u for u in account_rows.list_users(store) if u["role"] == "admin" and u["active"]]


def list_users(store: Store, actor: User | None) -> list[dict]:
    """Every account (no password hashes), for admins."""
    require(actor, "users.manage")
    rows = account_rows.list_users(store)
    now = auth.utc_now()  # through the module, so a test clock set on auth applies here too
    for r in rows:
        r["locked"] = bool(r["locked_until"] and datetime.fromisoformat(r["locked_until"]) > now)
        r["role_label"] = ROLE_LABELS.get(r["role"], r["role"])
    return rows


def find_user(store: Store, username: str) -> dict:
    row = account_rows.get_user_by_name(store, str(username).strip())
    if row is None:
        raise NotFound(f"No account named {username!r}.")
    return row


def set_active(store: Store, user_id: int, active: bool, actor: User | None) -> None:
    """Disable (or re-enable) an account; disabling ends its sessions. The last active admin stays."""
    require(actor, "users.manage")
    row = account(store, user_id)
    if not active:
        if actor.id and row["id"] == actor.id:
            raise ValidationError("You cannot disable your own account.")
        if row["role"] == "admin" and len(_active_admins(store)) <= 1 and row["active"]:
            raise ValidationError("This is the last active administrator; create another one first.")
    with store.tx():
        account_rows.update_user(store, row["id"], active=int(bool(active)))
        append_event(store, **_audit_actor(actor), action="user.enable" if active else "user.disable",
                     entity="user", entity_id=row["id"], details={"username": row["username"]})


def set_role(store: Store, user_id: int, role: str, actor: User | None) -> None:
    require(actor, "users.manage")
    if role not in ROLES:
        raise ValidationError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    row = account(store, user_id)
    if row["role"] == "admin" and role != "admin" and len(_active_admins(store)) <= 1 and row["active"]:
        raise ValidationError("This is the last active administrator; create another one first.")
    with store.tx():
        account_rows.update_user(store, row["id"], role=role)
        append_event(store, **_audit_actor(actor), action="user.role", entity="user", entity_id=row["id"],
                     details={"username": row["username"], "before": row["role"], "after": role})


def reset_password(store: Store, user_id: int, actor: User | None, new_password: str | None = None) -> str:
    """Set a new password (random when none is given), unlock the account, end its sessions; returns it.

    The account must choose its own password at its next login: an administrator who knows the reset password
    cannot go on using it to act under the person's name.
    """
    require(actor, "users.manage")
    row = account(store, user_id)
    password = new_password or secrets.token_urlsafe(12)
    validate_password(password, row["username"])
    with store.tx():
        account_rows.update_user(store, row["id"], password_hash=hash_password(password), failed_logins=0,
                            locked_until=None, must_change_password=1)
        append_event(store, **_audit_actor(actor), action="user.reset_password", entity="user", entity_id=row["id"],
                     details={"username": row["username"], "generated": new_password is None})
    return password



def unlock(store: Store, user_id: int, actor: User | None) -> None:
    require(actor, "users.manage")
    row = account(store, user_id)
    with store.tx():
        account_rows.update_user(store, row["id"], failed_logins=0, locked_until=None)
        append_event(store, **_audit_actor(actor), action="user.unlock", entity="user", entity_id=row["id"],
                     details={"username": row["username"]})
