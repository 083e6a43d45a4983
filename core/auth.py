"""Local accounts, sessions and role-based permissions.

Passwords are hashed with argon2id (salted, slow). A session token is random;
only its SHA-256 is stored, so a stolen database does not yield live sessions.
Service functions call ``require(user, permission)``: hiding a menu item is not
access control.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from core.errors import AccountLocked, AuthError, PermissionDenied, SessionExpired, ValidationError
from core.settings import Settings
from core.storage import Store, records
from core.storage.audit import append_event

ROLES = ("psychiatrist", "clinical_lead", "qa_reviewer", "admin")

ROLE_LABELS = {
    "psychiatrist": "Psychiatrist",
    "clinical_lead": "Clinical lead",
    "qa_reviewer": "QA reviewer",
    "admin": "Administrator",
}

# What each role may do. Psychiatrists see only their own patients (checked per record).
PERMISSIONS: dict[str, frozenset[str]] = {
    "psychiatrist": frozenset({
        "patients.read", "patients.write", "visits.write", "analyses.run", "analyses.sign",
        "export.patient", "crisis.ack", "models.read", "demo.use",
    }),
    "clinical_lead": frozenset({
        "patients.read", "patients.read_all", "cohort.read", "demo.use", "demo.manage", "models.read",
        "quality.read",
        "export.patient", "crisis.ack",
    }),
    "qa_reviewer": frozenset({"review.queue", "review.act", "review.export", "quality.read"}),
    "admin": frozenset({"users.manage", "audit.read", "models.read", "patients.read_all_meta"}),
}

MIN_PASSWORD_LENGTH = 12


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: str

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())


def require(user: User | None, permission: str) -> User:
    """Raise PermissionDenied unless ``user`` holds ``permission``."""
    if user is None:
        raise PermissionDenied("Please log in first.")
    if not user.can(permission):
        raise PermissionDenied(f"Your role ({user.role_label}) does not allow this ({permission}).")
    return user


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_password(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _to_user(row: dict) -> User:
    return User(id=row["id"], username=row["username"], display_name=row["display_name"], role=row["role"])


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.")


def create_user(store: Store, username: str, password: str, role: str, display_name: str = "",
                actor: User | None = None) -> User:
    """Create an account. ``actor`` must be an admin unless this is the first account."""
    if records.count_users(store) > 0:
        require(actor, "users.manage")
    username = username.strip()
    if not username or len(username) > 64 or not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
        raise ValidationError("Usernames use letters, digits, '.', '_' or '-' (at most 64).")
    if role not in ROLES:
        raise ValidationError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    validate_password(password)
    user_id = records.insert_user(store, username, display_name or username, role, hash_password(password))
    append_event(store, user_id=actor.id if actor else None, username=actor.username if actor else "system",
                 action="user.create", entity="user", entity_id=user_id, details={"username": username, "role": role})
    return User(user_id, username, display_name or username, role)


def bootstrap_admin(store: Store, username: str = "admin") -> str | None:
    """On first run create an admin with a random password and return it (shown once)."""
    if records.count_users(store) > 0:
        return None
    password = secrets.token_urlsafe(12)
    create_user(store, username, password, "admin", "Administrator")
    return password


def login(store: Store, settings: Settings, username: str, password: str) -> tuple[User, str]:
    """Check credentials; return the user and a new session token. Locks after repeated failures."""
    row = records.get_user_by_name(store, username.strip())
    if row is None or not row["active"]:
        # Same work as a real check so timing does not reveal which usernames exist.
        check_password(hash_password("not-a-real-password"), password)
        append_event(store, user_id=None, username=username[:64], action="auth.login_failed", entity="user")
        raise AuthError("Wrong username or password.")
    if row["locked_until"] and datetime.fromisoformat(row["locked_until"]) > _now():
        append_event(store, user_id=row["id"], username=row["username"], action="auth.login_locked", entity="user",
                     entity_id=row["id"])
        raise AccountLocked("This account is locked after repeated failed logins. Try again later or ask an admin.")
    if not check_password(row["password_hash"], password):
        failures = row["failed_logins"] + 1
        locked_until = None
        if failures >= settings.lockout_threshold:
            locked_until = (_now() + timedelta(minutes=settings.lockout_minutes)).isoformat()
            failures = 0
        records.update_user(store, row["id"], failed_logins=failures, locked_until=locked_until)
        append_event(store, user_id=row["id"], username=row["username"], action="auth.login_failed", entity="user",
                     entity_id=row["id"], details={"locked": bool(locked_until)})
        if locked_until:
            raise AccountLocked("Too many failed logins: this account is locked for "
                                f"{settings.lockout_minutes} minutes.")
        raise AuthError("Wrong username or password.")
    records.update_user(store, row["id"], failed_logins=0, locked_until=None)
    token = secrets.token_urlsafe(32)
    records.insert_session(store, _token_hash(token), row["id"])
    append_event(store, user_id=row["id"], username=row["username"], action="auth.login", entity="user",
                 entity_id=row["id"])
    return _to_user(row), token


def resume(store: Store, settings: Settings, token: str | None) -> User:
    """Return the user of a live session and refresh its idle timer; raise SessionExpired otherwise."""
    if not token:
        raise SessionExpired("Please log in.")
    session = records.get_session(store, _token_hash(token))
    if session is None or session["revoked"]:
        raise SessionExpired("Your session has ended. Please log in again.")
    idle = _now() - datetime.fromisoformat(session["last_seen"])
    if idle > timedelta(minutes=settings.idle_timeout_minutes):
        records.revoke_session(store, _token_hash(token))
        row = records.get_user(store, session["user_id"])
        append_event(store, user_id=session["user_id"], username=row["username"] if row else "",
                     action="auth.timeout", entity="user", entity_id=session["user_id"])
        raise SessionExpired(f"You were logged out after {settings.idle_timeout_minutes} idle minutes.")
    row = records.get_user(store, session["user_id"])
    if row is None or not row["active"]:
        raise SessionExpired("This account is no longer active.")
    records.touch_session(store, _token_hash(token))
    return _to_user(row)


def logout(store: Store, token: str | None) -> None:
    if not token:
        return
    session = records.get_session(store, _token_hash(token))
    records.revoke_session(store, _token_hash(token))
    if session:
        row = records.get_user(store, session["user_id"])
        append_event(store, user_id=session["user_id"], username=row["username"] if row else "",
                     action="auth.logout", entity="user", entity_id=session["user_id"])
