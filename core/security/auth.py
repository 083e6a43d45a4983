"""Local accounts, sessions and role-based permissions.

Passwords are hashed with argon2id (salted, slow). A session token is random;
only its SHA-256 is stored, so a stolen database does not yield live sessions.
Service functions call ``require(user, permission)``: hiding a menu item is not
access control.

Hardening: unknown and disabled usernames cost the same argon2 work as real
ones (no timing oracle) and give the same message; an account locks after
``lockout_threshold`` failures; a session ends after ``idle_timeout_minutes``
idle and after ``SESSION_MAX_HOURS`` in any case; changing a password, role or
active flag ends every session of the account (a database trigger, migration
004); hashes made with older argon2 parameters are upgraded at the next login.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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
        "quality.read", "review.export_training",
        "export.patient", "crisis.ack",
    }),
    # Reviewers see de-identified text only: their exports are flags and corrections, never the notes.
    "qa_reviewer": frozenset({"review.queue", "review.act", "review.export", "quality.read"}),
    "admin": frozenset({"users.manage", "audit.read", "models.read", "patients.read_all_meta"}),
}

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
# A session ends this long after login even when it is kept busy.
SESSION_MAX_HOURS = 12
# Usernames: letters, digits, '.', '_', '-', and '@' so an OIDC e-mail can be a username.
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@")
_COMMON_PASSWORDS = {
    "password1234", "123456789012", "qwertyuiopas", "passwordpassword", "administrator", "changemechangeme",
    "letmeinletmein", "iloveyou1234", "welcome12345", "trustno1trustno1",
}


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

    return PasswordHasher()  # argon2id with the library's current recommended cost


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_password(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    if isinstance(password, str):
        # A lone surrogate cannot be UTF-8 encoded; such a password can never match, but must not crash.
        password = password.encode("utf-8", "surrogatepass")
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_dummy_lock = threading.Lock()
_dummy_hash: str | None = None


def _burn_time(password: str) -> None:
    """The same argon2 work as a real check, for usernames that do not exist or are disabled."""
    global _dummy_hash
    with _dummy_lock:
        if _dummy_hash is None:
            _dummy_hash = hash_password(secrets.token_urlsafe(16))
    check_password(_dummy_hash, password)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _to_user(row: dict) -> User:
    return User(id=row["id"], username=row["username"], display_name=row["display_name"], role=row["role"])


def validate_password(password: str, username: str = "") -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError(f"Passwords can have at most {MAX_PASSWORD_LENGTH} characters.")
    if "\x00" in password:
        raise ValidationError("Passwords cannot contain NUL characters.")
    try:
        password.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError("The password contains characters that are not valid text.") from exc
    if password.lower() in _COMMON_PASSWORDS or len(set(password)) < 4:
        raise ValidationError("That password is too easy to guess; choose a longer, less common one.")
    if len(username.strip()) >= 3 and username.strip().lower() in password.lower():
        raise ValidationError("The password must not contain the username.")


def validate_username(username: str) -> str:
    username = (username or "").strip()
    if not username or len(username) > 64 or not set(username) <= USERNAME_CHARS:
        raise ValidationError("Usernames use letters, digits, '.', '_', '-' or '@' (at most 64).")
    return username


def create_user(store: Store, username: str, password: str, role: str, display_name: str = "",
                actor: User | None = None) -> User:
    """Create an account. ``actor`` must be an admin unless this is the first account."""
    if records.count_users(store) > 0:
        require(actor, "users.manage")
    username = validate_username(username)
    if role not in ROLES:
        raise ValidationError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    validate_password(password, username)
    user_id = records.insert_user(store, username, display_name or username, role, hash_password(password))
    append_event(store, user_id=(actor.id or None) if actor else None, username=actor.username if actor else "system",
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
    username = str(username or "").strip()[:64]
    password = str(password or "")[:MAX_PASSWORD_LENGTH]
    row = records.get_user_by_name(store, username) if username else None
    if row is None or not row["active"]:
        # Same work as a real check so timing does not reveal which usernames exist.
        _burn_time(password)
        append_event(store, user_id=row["id"] if row else None, username=username, action="auth.login_failed",
                     entity="user", entity_id=row["id"] if row else "",
                     details={"reason": "disabled" if row else "unknown user"})
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
    changes = {"failed_logins": 0, "locked_until": None}
    if _needs_rehash(row["password_hash"]):
        changes["password_hash"] = hash_password(password)
    records.update_user(store, row["id"], **changes)
    token = secrets.token_urlsafe(32)
    records.insert_session(store, _token_hash(token), row["id"])
    append_event(store, user_id=row["id"], username=row["username"], action="auth.login", entity="user",
                 entity_id=row["id"])
    return _to_user(row), token


def resume(store: Store, settings: Settings, token: str | None, *, touch: bool = True) -> User:
    """Return the user of a live session and refresh its idle timer; raise SessionExpired otherwise.

    ``touch=False`` checks without counting as activity: the screen's own periodic check for automatic
    logoff must not keep an unattended session alive. An expired session is ended (and audited) either way.
    """
    if not token:
        raise SessionExpired("Please log in.")
    session = records.get_session(store, _token_hash(token))
    if session is None or session["revoked"]:
        raise SessionExpired("Your session has ended. Please log in again.")
    if _now() - datetime.fromisoformat(session["created_at"]) > timedelta(hours=SESSION_MAX_HOURS):
        records.revoke_session(store, _token_hash(token))
        raise SessionExpired(f"Sessions last at most {SESSION_MAX_HOURS} hours. Please log in again.")
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
    if touch:
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


def _needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher().check_needs_rehash(password_hash)
    except Exception:
        return False


# ---------------------------------------------------------------- account management (admins)
def console_actor() -> User:
    """The operator at the server's command line (``python -m core users ...``).

    Whoever can run the CLI can already read the database file, so the console acts as an admin; its
    actions are audited as username ``console``. Never constructed by the web app.
    """
    return User(id=0, username="console", display_name="Command line", role="admin")


def _audit_actor(actor: User) -> dict:
    return {"user_id": actor.id or None, "username": actor.username}


def _target(store: Store, user_id: int) -> dict:
    row = records.get_user(store, int(user_id))
    if row is None:
        from core.errors import NotFound

        raise NotFound(f"No account with id {user_id}.")
    return row


def _active_admins(store: Store) -> list[dict]:
    return [u for u in records.list_users(store) if u["role"] == "admin" and u["active"]]


def list_users(store: Store, actor: User | None) -> list[dict]:
    """Every account (no password hashes), for admins."""
    require(actor, "users.manage")
    rows = records.list_users(store)
    now = _now()
    for r in rows:
        r["locked"] = bool(r["locked_until"] and datetime.fromisoformat(r["locked_until"]) > now)
        r["role_label"] = ROLE_LABELS.get(r["role"], r["role"])
    return rows


def find_user(store: Store, username: str) -> dict:
    row = records.get_user_by_name(store, str(username).strip())
    if row is None:
        from core.errors import NotFound

        raise NotFound(f"No account named {username!r}.")
    return row


def set_active(store: Store, user_id: int, active: bool, actor: User | None) -> None:
    """Disable (or re-enable) an account; disabling ends its sessions. The last active admin stays."""
    require(actor, "users.manage")
    row = _target(store, user_id)
    if not active:
        if actor.id and row["id"] == actor.id:
            raise ValidationError("You cannot disable your own account.")
        if row["role"] == "admin" and len(_active_admins(store)) <= 1 and row["active"]:
            raise ValidationError("This is the last active administrator; create another one first.")
    records.update_user(store, row["id"], active=int(bool(active)))
    append_event(store, **_audit_actor(actor), action="user.enable" if active else "user.disable", entity="user",
                 entity_id=row["id"], details={"username": row["username"]})


def set_role(store: Store, user_id: int, role: str, actor: User | None) -> None:
    require(actor, "users.manage")
    if role not in ROLES:
        raise ValidationError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    row = _target(store, user_id)
    if row["role"] == "admin" and role != "admin" and len(_active_admins(store)) <= 1 and row["active"]:
        raise ValidationError("This is the last active administrator; create another one first.")
    records.update_user(store, row["id"], role=role)
    append_event(store, **_audit_actor(actor), action="user.role", entity="user", entity_id=row["id"],
                 details={"username": row["username"], "before": row["role"], "after": role})


def reset_password(store: Store, user_id: int, actor: User | None, new_password: str | None = None) -> str:
    """Set a new password (random when none is given), unlock the account, end its sessions; returns it."""
    require(actor, "users.manage")
    row = _target(store, user_id)
    password = new_password or secrets.token_urlsafe(12)
    validate_password(password, row["username"])
    records.update_user(store, row["id"], password_hash=hash_password(password), failed_logins=0, locked_until=None)
    append_event(store, **_audit_actor(actor), action="user.reset_password", entity="user", entity_id=row["id"],
                 details={"username": row["username"], "generated": new_password is None})
    return password


def change_password(store: Store, user: User, old_password: str, new_password: str) -> None:
    """A user changes their own password (needs the current one); other sessions end."""
    row = _target(store, user.id)
    if not check_password(row["password_hash"], old_password):
        append_event(store, user_id=user.id, username=user.username, action="user.change_password_failed",
                     entity="user", entity_id=user.id)
        raise AuthError("The current password is wrong.")
    validate_password(new_password, row["username"])
    records.update_user(store, row["id"], password_hash=hash_password(new_password))
    append_event(store, user_id=user.id, username=user.username, action="user.change_password", entity="user",
                 entity_id=user.id)


def unlock(store: Store, user_id: int, actor: User | None) -> None:
    require(actor, "users.manage")
    row = _target(store, user_id)
    records.update_user(store, row["id"], failed_logins=0, locked_until=None)
    append_event(store, **_audit_actor(actor), action="user.unlock", entity="user", entity_id=row["id"],
                 details={"username": row["username"]})


# ---------------------------------------------------------------- single sign-on (OIDC via st.login)
def login_oidc(store: Store, settings: Settings, claims: dict) -> tuple[User, str]:
    """Map an identity from the OIDC provider to a local account and open a session.

    The provider proves who the person is; the local account decides their role. The e-mail claim must be
    verified (when the provider sends ``email_verified``) and match an active account whose username is that
    e-mail (case-insensitive). Nobody is created automatically: an admin creates the account and its role.
    """
    email = str(claims.get("email") or "").strip()
    if not email or "@" not in email:
        raise AuthError("The identity provider did not send an e-mail address.")
    if claims.get("email_verified") is False:
        raise AuthError("The identity provider has not verified this e-mail address.")
    row = records.get_user_by_name(store, email) or records.get_user_by_name(store, email.lower())
    if row is None or not row["active"]:
        append_event(store, user_id=row["id"] if row else None, username=email[:64], action="auth.sso_refused",
                     entity="user", details={"issuer": str(claims.get("iss", ""))[:200]})
        raise AuthError(f"No active mhdash account for {email}. Ask an administrator to create one.")
    token = secrets.token_urlsafe(32)
    records.insert_session(store, _token_hash(token), row["id"])
    append_event(store, user_id=row["id"], username=row["username"], action="auth.login", entity="user",
                 entity_id=row["id"], details={"method": "oidc", "issuer": str(claims.get("iss", ""))[:200]})
    return _to_user(row), token


def oidc_configured(secrets_path) -> bool:
    """True when ``.streamlit/secrets.toml`` has an ``[auth]`` section (st.login can be offered)."""
    import tomllib
    from pathlib import Path

    path = Path(secrets_path)
    if not path.exists():
        return False
    try:
        return "auth" in tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return False
