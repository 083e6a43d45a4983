"""Single sign-on: map an identity from the OIDC provider (st.login) to a local account and open a session."""

from __future__ import annotations

import secrets

from core.errors import AccountLocked, AuthError
from core.security.auth import LOCKED_MESSAGE, User, is_locked, to_user, token_hash
from core.settings import Settings
from core.storage import Store
from core.storage import accounts as account_rows
from core.storage.audit import append_event


def login_oidc(store: Store, settings: Settings, claims: dict) -> tuple[User, str]:
    """Map an identity from the OIDC provider to a local account and open a session.

    The provider proves who the person is; the local account decides their role. The identity is the
    provider's (issuer, subject), which never changes or passes to another person, unlike an e-mail address.
    The first time, the e-mail claim, which must be verified (``email_verified`` true: absent is refused),
    names the active account (username = that e-mail, case-insensitive) and the pair is bound to it; from then
    on the pair decides, and an account already bound to another subject of the same issuer is refused. A
    locked account stays locked. Nobody is created automatically: an admin creates the account and its role.
    """
    email = str(claims.get("email") or "").strip()
    issuer = str(claims.get("iss") or "").strip()[:300]
    subject = str(claims.get("sub") or "").strip()[:300]
    if not email or "@" not in email:
        raise AuthError("The identity provider did not send an e-mail address.")
    if claims.get("email_verified") is not True:
        raise AuthError("The identity provider has not verified this e-mail address.")
    if not issuer or not subject:
        raise AuthError("The identity provider did not say who issued this identity (issuer and subject).")

    def refuse(message: str, row: dict | None, reason: str) -> AuthError:
        append_event(store, user_id=row["id"] if row else None, username=email[:64], action="auth.sso_refused",
                     entity="user", entity_id=row["id"] if row else "",
                     details={"issuer": issuer[:200], "reason": reason})
        return AuthError(message)

    bound = account_rows.get_identity(store, issuer, subject)
    if bound is not None:
        row = account_rows.get_user(store, bound["user_id"])
    else:
        row = account_rows.get_user_by_name(store, email) or account_rows.get_user_by_name(store, email.lower())
        if row is not None and account_rows.identities_of(store, row["id"], issuer):
            raise refuse(f"The mhdash account {row['username']} is linked to another identity at this provider. "
                         "Ask an administrator.", row, "bound to another subject")
    if row is None or not row["active"]:
        raise refuse(f"No active mhdash account for {email}. Ask an administrator to create one.", row,
                     "no active account")
    if row["locked_until"] and is_locked(row["locked_until"]):
        append_event(store, user_id=row["id"], username=row["username"], action="auth.login_locked", entity="user",
                     entity_id=row["id"], details={"method": "oidc"})
        raise AccountLocked(LOCKED_MESSAGE)
    token = secrets.token_urlsafe(32)
    with store.tx():
        if bound is None:
            account_rows.insert_identity(store, issuer, subject, row["id"], email)
        account_rows.insert_session(store, token_hash(token), row["id"], method="oidc")
        append_event(store, user_id=row["id"], username=row["username"], action="auth.login", entity="user",
                     entity_id=row["id"], details={"method": "oidc", "issuer": issuer[:200],
                                                   "linked_now": bound is None})
    return to_user(row, method="oidc"), token


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
