"""Local accounts, sessions and role-based permissions.

Passwords are hashed with argon2id (salted, slow). A session token is random;
only its SHA-256 is stored, so a stolen database does not yield live sessions.
Service functions call ``require(user, permission)``: hiding a menu item is not
access control.

Hardening: every attempt is counted before its password is checked, in one
``BEGIN IMMEDIATE`` transaction, so parallel guesses cannot outrun the lockout (at
most ``lockout_threshold`` passwords are ever checked before an account locks);
unknown, disabled and locked usernames cost the same argon2 work as real ones and
lock after the same number of attempts with the same messages, so neither timing
nor the lockout reveals which usernames exist; a client address is throttled after
``login_rate_per_minute`` attempts; a username with no account is never written to
the audit trail as typed (it may be a password typed into the wrong field), only
as a keyed digest. A login, its session and its audit event commit together.
An account created or reset by an administrator must choose a new password at its
next login before it can do anything (``User.can`` is false until then). Single
sign-on binds an account to the provider's (issuer, subject), needs a verified
e-mail, and honours the lockout.

A session ends after ``idle_timeout_minutes`` idle and after ``SESSION_MAX_HOURS`` in
any case; changing a password, role or active flag ends every session of the
account (a database trigger, migration 004); hashes made with older argon2
parameters are upgraded at the next login.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.errors import (
    AccountLocked,
    AuthError,
    NotFound,
    PermissionDenied,
    RateLimited,
    SessionExpired,
    ValidationError,
)
from core.security.ratelimit import login_limiter
from core.settings import Settings
from core.storage import Store
from core.storage import accounts as account_rows
from core.storage.audit import append_event, resolve_key

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
    # A password set by an administrator (or at creation) must be replaced before the account can do anything.
    must_change_password: bool = False

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    def can(self, permission: str) -> bool:
        if self.must_change_password:
            return False
        return permission in PERMISSIONS.get(self.role, frozenset())


def require(user: User | None, permission: str) -> User:
    """Raise PermissionDenied unless ``user`` holds ``permission``."""
    if user is None:
        raise PermissionDenied("Please log in first.")
    if user.must_change_password:
        raise PermissionDenied("Choose a new password first: the current one was set by an administrator.")
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


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_user(row: dict, *, method: str = "password") -> User:
    return User(id=row["id"], username=row["username"], display_name=row["display_name"], role=row["role"],
                must_change_password=bool(row.get("must_change_password")) and method == "password")


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
                actor: User | None = None, *, must_change: bool = True) -> User:
    """Create an account. ``actor`` must be an admin unless this is the first account.

    The password was chosen by someone else (an admin, the console, the first-run bootstrap), so by default
    the person must replace it at their first login; ``must_change=False`` is for accounts whose owner chose it.
    """
    if account_rows.count_users(store) > 0:
        require(actor, "users.manage")
    username = validate_username(username)
    if role not in ROLES:
        raise ValidationError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    validate_password(password, username)
    with store.tx():
        user_id = account_rows.insert_user(store, username, display_name or username, role, hash_password(password),
                                      must_change_password=must_change)
        append_event(store, user_id=(actor.id or None) if actor else None,
                     username=actor.username if actor else "system", action="user.create", entity="user",
                     entity_id=user_id, details={"username": username, "role": role, "must_change": must_change})
    return User(user_id, username, display_name or username, role, must_change_password=must_change)


def bootstrap_admin(store: Store, username: str = "admin") -> str | None:
    """On first run create an admin with a random password and return it (shown once)."""
    if account_rows.count_users(store) > 0:
        return None
    password = secrets.token_urlsafe(12)
    create_user(store, username, password, "admin", "Administrator")  # must be changed at first login
    return password


LOCKED_MESSAGE = "This account is locked after repeated failed logins. Try again later or ask an admin."
WRONG_MESSAGE = "Wrong username or password."


def _name_digest(store: Store, username: str) -> str:
    """A keyed digest of a typed username: correlates attempts without storing what was typed."""
    return hmac.new(resolve_key(store), b"login-name\x1f" + username.lower().encode("utf-8", "surrogatepass"),
                    hashlib.sha256).hexdigest()[:32]


def is_locked(locked_until: str) -> bool:
    try:
        return datetime.fromisoformat(locked_until) > utc_now()
    except (TypeError, ValueError):
        return True  # an unreadable lock stays a lock


def _throttle(settings: Settings, client: str) -> None:
    if not client:
        return

    wait = login_limiter(settings.login_rate_per_minute).hit(f"login:{client}")
    if wait:
        raise RateLimited(f"Too many login attempts from this address. Try again in {wait} seconds.", wait)


def _reserve(store: Store, settings: Settings, row: dict | None, digest: str) -> str:
    lock_until = (utc_now() + timedelta(minutes=settings.lockout_minutes)).isoformat()
    return account_rows.reserve_login_attempt(store, user_id=row["id"] if row else None, name_digest=digest,
                                         threshold=max(1, int(settings.lockout_threshold)), is_locked=is_locked,
                                         lock_until=lock_until)


def _locked_now(settings: Settings) -> AccountLocked:
    return AccountLocked(f"Too many failed logins: this account is locked for {settings.lockout_minutes} minutes.")


def login(store: Store, settings: Settings, username: str, password: str, *, client: str = "") -> tuple[User, str]:
    """Check credentials; return the user and a new session token. Locks after repeated failures.

    ``client`` (the caller's address, when known) is rate-limited. Every outcome costs one argon2 check, and an
    unknown username answers exactly like a real one, lockout included.
    """
    _throttle(settings, str(client or ""))
    username = str(username or "").strip()[:64]
    password = str(password or "")[:MAX_PASSWORD_LENGTH]
    row = account_rows.get_user_by_name(store, username) if username else None
    known = row is not None and bool(row["active"])
    digest = _name_digest(store, username)
    verdict = _reserve(store, settings, row, digest)
    # Who the trail names: a real account by its name; a typed name with no account only by its digest.
    who = {"user_id": row["id"], "username": row["username"]} if row else {"user_id": None, "username": "(unknown)"}
    if verdict == "locked":
        _burn_time(password)
        append_event(store, **who, action="auth.login_locked", entity="user", entity_id=row["id"] if row else "",
                     details={} if row else {"name_digest": digest})
        raise AccountLocked(LOCKED_MESSAGE)
    if known:
        ok = check_password(row["password_hash"], password)
    else:
        _burn_time(password)
        ok = False
    if not ok:
        details = {"locked": verdict == "last"}
        if row is None:
            details.update(reason="unknown user", name_digest=digest)
        elif not row["active"]:
            details["reason"] = "disabled"
        append_event(store, **who, action="auth.login_failed", entity="user", entity_id=row["id"] if row else "",
                     details=details)
        if verdict == "last":
            raise _locked_now(settings)
        raise AuthError(WRONG_MESSAGE)
    changes = {"failed_logins": 0, "locked_until": None}
    if _needs_rehash(row["password_hash"]):
        changes["password_hash"] = hash_password(password)
    token = secrets.token_urlsafe(32)
    with store.tx():
        account_rows.update_user(store, row["id"], **changes)
        account_rows.insert_session(store, token_hash(token), row["id"])
        append_event(store, user_id=row["id"], username=row["username"], action="auth.login", entity="user",
                     entity_id=row["id"], details={"must_change_password": bool(row["must_change_password"])})
    return to_user(row), token


def resume(store: Store, settings: Settings, token: str | None, *, touch: bool = True) -> User:
    """Return the user of a live session and refresh its idle timer; raise SessionExpired otherwise.

    ``touch=False`` checks without counting as activity: the screen's own periodic check for automatic
    logoff must not keep an unattended session alive. An expired session is ended (and audited) either way.
    """
    if not token:
        raise SessionExpired("Please log in.")
    session = account_rows.get_session(store, token_hash(token))
    if session is None or session["revoked"]:
        raise SessionExpired("Your session has ended. Please log in again.")
    if utc_now() - datetime.fromisoformat(session["created_at"]) > timedelta(hours=SESSION_MAX_HOURS):
        account_rows.revoke_session(store, token_hash(token))
        raise SessionExpired(f"Sessions last at most {SESSION_MAX_HOURS} hours. Please log in again.")
    idle = utc_now() - datetime.fromisoformat(session["last_seen"])
    if idle > timedelta(minutes=settings.idle_timeout_minutes):
        account_rows.revoke_session(store, token_hash(token))
        row = account_rows.get_user(store, session["user_id"])
        append_event(store, user_id=session["user_id"], username=row["username"] if row else "",
                     action="auth.timeout", entity="user", entity_id=session["user_id"])
        raise SessionExpired(f"You were logged out after {settings.idle_timeout_minutes} idle minutes.")
    row = account_rows.get_user(store, session["user_id"])
    if row is None or not row["active"]:
        raise SessionExpired("This account is no longer active.")
    if touch:
        account_rows.touch_session(store, token_hash(token))
    return to_user(row, method=session.get("method") or "password")


def logout(store: Store, token: str | None) -> None:
    if not token:
        return
    session = account_rows.get_session(store, token_hash(token))
    account_rows.revoke_session(store, token_hash(token))
    if session:
        row = account_rows.get_user(store, session["user_id"])
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


def account(store: Store, user_id: int) -> dict:
    row = account_rows.get_user(store, int(user_id))
    if row is None:
        raise NotFound(f"No account with id {user_id}.")
    return row



def change_password(store: Store, settings: Settings, user: User, old_password: str, new_password: str, *,
                    client: str = "") -> str:
    """A user changes their own password (the current one is needed, and counts toward the lockout like a
    login); every session of the account ends and a new one is returned (its token), so the person stays in.

    The one way a password stops being "must change": the person chose the new one themselves.
    """
    _throttle(settings, str(client or ""))
    row = account(store, user.id)
    if not row["active"]:
        raise SessionExpired("This account is no longer active.")
    old_password = str(old_password or "")[:MAX_PASSWORD_LENGTH]
    verdict = _reserve(store, settings, row, "")
    if verdict == "locked":
        _burn_time(old_password)
        raise AccountLocked(LOCKED_MESSAGE)
    if not check_password(row["password_hash"], old_password):
        append_event(store, user_id=user.id, username=user.username, action="user.change_password_failed",
                     entity="user", entity_id=user.id, details={"locked": verdict == "last"})
        if verdict == "last":
            raise _locked_now(settings)
        raise AuthError("The current password is wrong.")
    try:
        validate_password(new_password, row["username"])
        if new_password == old_password:
            raise ValidationError("The new password must differ from the current one.")
    except ValidationError:
        account_rows.update_user(store, row["id"], failed_logins=0, locked_until=None)  # the current one was right
        raise
    token = secrets.token_urlsafe(32)
    with store.tx():
        account_rows.update_user(store, row["id"], password_hash=hash_password(new_password), failed_logins=0,
                            locked_until=None, must_change_password=0)  # the trigger ends every session
        account_rows.insert_session(store, token_hash(token), row["id"])
        append_event(store, user_id=user.id, username=user.username, action="user.change_password", entity="user",
                     entity_id=user.id, details={"was_required": bool(row["must_change_password"])})
    return token
