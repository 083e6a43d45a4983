"""Authentication: hashing, lockout, idle and absolute timeouts, logout, account management, SSO mapping, CLI."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from core.errors import AccountLocked, AuthError, NotFound, PermissionDenied, SessionExpired, ValidationError
from core.security import accounts, auth, oidc
from core.storage import accounts as account_rows
from core.storage.audit import list_events, verify_chain
from tests import robustness

PW = "correct horse battery"


def _actions(store) -> list[str]:
    return [e["action"] for e in reversed(list_events(store, limit=1000))]


def test_passwords_are_salted_argon2id(store, users):
    row = account_rows.get_user_by_name(store, "psy")
    assert row["password_hash"].startswith("$argon2id$")
    assert PW not in row["password_hash"]
    assert auth.hash_password(PW) != auth.hash_password(PW)  # salted
    assert auth.check_password(row["password_hash"], PW)
    assert not auth.check_password(row["password_hash"], PW + "x")
    assert not auth.check_password("not a hash", PW)


def test_login_and_session_token_is_stored_hashed(store, settings, users):
    user, token = auth.login(store, settings, "psy", PW)
    assert user.username == "psy" and user.role == "psychiatrist"
    assert account_rows.get_session(store, token) is None
    assert account_rows.get_session(store, auth.token_hash(token)) is not None
    assert auth.resume(store, settings, token) == user
    assert "auth.login" in _actions(store)


@pytest.mark.parametrize("username,password", [
    ("psy", "wrong password!"), ("nobody", PW), ("", ""), ("psy ", "x"), ("a" * 10_000, "b" * 10_000),
    ("psy'; DROP TABLE users; --", PW), ("\x00", "\ud800"),
])
def test_bad_logins_give_one_message(store, settings, users, username, password):
    with robustness.case("login"), pytest.raises(AuthError, match="Wrong username or password"):
        auth.login(store, settings, username, password)


def test_disabled_account_cannot_log_in_and_its_sessions_end(store, settings, users):
    _, token = auth.login(store, settings, "psy", PW)
    accounts.set_active(store, users["psy"].id, False, users["admin"])
    with pytest.raises(SessionExpired):
        auth.resume(store, settings, token)
    with pytest.raises(AuthError, match="Wrong username or password"):
        auth.login(store, settings, "psy", PW)
    accounts.set_active(store, users["psy"].id, True, users["admin"])
    auth.login(store, settings, "psy", PW)


def test_unknown_user_costs_as_much_as_a_wrong_password(store, settings, users):
    def timed(name):
        start = time.perf_counter()
        with pytest.raises(AuthError):
            auth.login(store, settings, name, "wrong password!")
        return time.perf_counter() - start

    timed("nobody")  # warm the dummy hash
    known = min(timed("psy") for _ in range(3))
    unknown = min(timed("nobody") for _ in range(3))
    assert 0.33 < unknown / known < 3, (known, unknown)


def test_lockout_after_threshold(store, settings, users):
    s = settings.replace(lockout_threshold=3, lockout_minutes=15)
    for _ in range(2):
        with pytest.raises(AuthError):
            auth.login(store, s, "psy", "wrong password!")
    with pytest.raises(AccountLocked, match="locked for 15 minutes"):
        auth.login(store, s, "psy", "wrong password!")
    # Even the right password is refused while locked.
    with pytest.raises(AccountLocked):
        auth.login(store, s, "psy", PW)
    assert next(u for u in accounts.list_users(store, users["admin"]) if u["username"] == "psy")["locked"]
    # The lock expires.
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    account_rows.update_user(store, users["psy"].id, locked_until=past)
    auth.login(store, s, "psy", PW)
    assert {"auth.login_failed", "auth.login_locked", "auth.login"} <= set(_actions(store))


def test_admin_can_unlock(store, settings, users):
    s = settings.replace(lockout_threshold=1)
    with pytest.raises(AccountLocked):
        auth.login(store, s, "psy", "wrong password!")
    accounts.unlock(store, users["psy"].id, users["admin"])
    auth.login(store, s, "psy", PW)


def test_idle_timeout_forces_relogin(store, settings, users, monkeypatch):
    _, token = auth.login(store, settings, "psy", PW)
    later = datetime.now(UTC) + timedelta(minutes=settings.idle_timeout_minutes + 1)
    monkeypatch.setattr(auth, "utc_now", lambda: later)
    with pytest.raises(SessionExpired, match="idle"):
        auth.resume(store, settings, token)
    monkeypatch.undo()
    with pytest.raises(SessionExpired):  # revoked, not just stale
        auth.resume(store, settings, token)
    assert "auth.timeout" in _actions(store)


def test_a_screen_check_is_not_activity(store, settings, users, monkeypatch):
    """The on-screen logoff check (touch=False) must not keep an unattended session alive."""
    _, token = auth.login(store, settings, "psy", PW)
    start = datetime.now(UTC)
    for minutes in range(1, settings.idle_timeout_minutes + 1):  # a check every minute, nobody at the screen
        t = start + timedelta(minutes=minutes - 0.5)
        monkeypatch.setattr(auth, "utc_now", lambda t=t: t)
        monkeypatch.setattr(account_rows, "utcnow", lambda t=t: t.isoformat())
        assert auth.resume(store, settings, token, touch=False).username == "psy"
    later = start + timedelta(minutes=settings.idle_timeout_minutes + 1)
    monkeypatch.setattr(auth, "utc_now", lambda: later)
    with pytest.raises(SessionExpired, match="idle"):
        auth.resume(store, settings, token, touch=False)
    assert "auth.timeout" in _actions(store)


def test_activity_keeps_a_session_alive_until_the_absolute_limit(store, settings, users, monkeypatch):
    _, token = auth.login(store, settings, "psy", PW)
    start = datetime.now(UTC)
    step = timedelta(minutes=settings.idle_timeout_minutes - 1)
    t = start
    while t + step < start + timedelta(hours=auth.SESSION_MAX_HOURS):
        t += step
        monkeypatch.setattr(auth, "utc_now", lambda t=t: t)
        monkeypatch.setattr(account_rows, "utcnow", lambda t=t: t.isoformat())
        auth.resume(store, settings, token)
    t += step * 2
    monkeypatch.setattr(auth, "utc_now", lambda: t)
    with pytest.raises(SessionExpired, match="at most"):
        auth.resume(store, settings, token)


def test_logout_invalidates_the_session(store, settings, users):
    _, token = auth.login(store, settings, "psy", PW)
    _, other = auth.login(store, settings, "psy", PW)
    auth.logout(store, token)
    with pytest.raises(SessionExpired):
        auth.resume(store, settings, token)
    auth.resume(store, settings, other)  # other sessions of the same user are independent
    auth.logout(store, None)
    auth.logout(store, "not-a-token")
    for bad in (None, "", "x" * 5000, "\x00"):
        with robustness.case("session-token"), pytest.raises(SessionExpired):
            auth.resume(store, settings, bad)


def test_password_reset_ends_sessions_and_unlocks(store, settings, users):
    _, token = auth.login(store, settings, "psy", PW)
    new = accounts.reset_password(store, users["psy"].id, users["admin"])
    assert len(new) >= auth.MIN_PASSWORD_LENGTH
    with pytest.raises(SessionExpired):
        auth.resume(store, settings, token)
    with pytest.raises(AuthError):
        auth.login(store, settings, "psy", PW)
    auth.login(store, settings, "psy", new)


def test_role_change_ends_sessions(store, settings, users):
    _, token = auth.login(store, settings, "lead", PW)
    accounts.set_role(store, users["lead"].id, "qa_reviewer", users["admin"])
    with pytest.raises(SessionExpired):
        auth.resume(store, settings, token)
    user, _ = auth.login(store, settings, "lead", PW)
    assert user.role == "qa_reviewer"


def test_change_own_password(store, settings, users):
    _, old_session = auth.login(store, settings, "psy", PW)
    with pytest.raises(AuthError, match="current password is wrong"):
        auth.change_password(store, settings, users["psy"], "wrong password!", "a new long passphrase")
    with pytest.raises(ValidationError, match="differ"):
        auth.change_password(store, settings, users["psy"], PW, PW)
    token = auth.change_password(store, settings, users["psy"], PW, "a new long passphrase")
    with pytest.raises(SessionExpired):
        auth.resume(store, settings, old_session)  # every other session ends
    assert auth.resume(store, settings, token).username == "psy"  # the person stays logged in
    auth.login(store, settings, "psy", "a new long passphrase")
    assert {"user.change_password_failed", "user.change_password"} <= set(_actions(store))


def test_wrong_current_password_counts_toward_the_lockout(store, settings, users):
    s = settings.replace(lockout_threshold=3)
    for _ in range(2):
        with pytest.raises(AuthError):
            auth.change_password(store, s, users["psy"], "wrong password!", "a new long passphrase")
    with pytest.raises(AccountLocked):
        auth.change_password(store, s, users["psy"], "wrong password!", "a new long passphrase")
    with pytest.raises(AccountLocked):
        auth.change_password(store, s, users["psy"], PW, "a new long passphrase")


def test_admin_set_passwords_must_be_changed_at_next_login(store, settings, users):
    """A new account and an admin reset both force a change: until then the account can do nothing."""
    created = auth.create_user(store, "newdoc", PW, "psychiatrist", actor=users["admin"])
    assert created.must_change_password and not created.can("patients.read")
    user, token = auth.login(store, settings, "newdoc", PW)
    assert user.must_change_password and not user.can("patients.read")
    with pytest.raises(PermissionDenied, match="new password"):
        auth.require(user, "patients.read")
    assert auth.resume(store, settings, token).must_change_password
    new_token = auth.change_password(store, settings, user, PW, "my own new passphrase")
    user = auth.resume(store, settings, new_token)
    assert not user.must_change_password and user.can("patients.read")
    # After an admin reset, the admin's password works only to choose a new one.
    temp = accounts.reset_password(store, users["psy"].id, users["admin"])
    psy, _ = auth.login(store, settings, "psy", temp)
    assert psy.must_change_password and not psy.can("patients.write")
    assert next(u for u in accounts.list_users(store, users["admin"]) if u["username"] == "psy")["must_change_password"]


@pytest.mark.parametrize("password", ["short", "password1234", "aaaaaaaaaaaaaaaa", "x" * 2000, "psy-secret-pass",
                                      "long enough\x00pass", "long enough \ud800 pass"])
def test_weak_or_invalid_passwords_are_refused(store, users, password):
    with robustness.case("password"), pytest.raises(ValidationError):
        auth.create_user(store, "psy-new" if "psy" not in password else "psy", password, "psychiatrist",
                         actor=users["admin"])


@pytest.mark.parametrize("username", ["", " ", "a b", "x" * 65, "<script>", "name;drop", "ü" * 3, "\x00"])
def test_bad_usernames_are_refused(store, users, username):
    with robustness.case("username"), pytest.raises(ValidationError):
        auth.create_user(store, username, PW, "psychiatrist", actor=users["admin"])


def test_only_admins_manage_accounts(store, users):
    for name in ("psy", "lead", "qa"):
        actor = users[name]
        with pytest.raises(PermissionDenied):
            auth.create_user(store, "newbie", PW, "admin", actor=actor)
        with pytest.raises(PermissionDenied):
            accounts.list_users(store, actor)
        with pytest.raises(PermissionDenied):
            accounts.set_active(store, users["psy2"].id, False, actor)
        with pytest.raises(PermissionDenied):
            accounts.reset_password(store, users["psy2"].id, actor)
        with pytest.raises(PermissionDenied):
            accounts.set_role(store, users[name].id, "admin", actor)
    with pytest.raises(PermissionDenied):
        auth.create_user(store, "newbie", PW, "admin", actor=None)


def test_last_admin_is_protected(store, users):
    admin = users["admin"]
    with pytest.raises(ValidationError, match="own account"):
        accounts.set_active(store, admin.id, False, admin)
    with pytest.raises(ValidationError, match="last active administrator"):
        accounts.set_role(store, admin.id, "psychiatrist", admin)
    with pytest.raises(ValidationError, match="last active administrator"):
        accounts.set_active(store, admin.id, False, auth.console_actor())
    second = auth.create_user(store, "admin2", PW, "admin", actor=admin, must_change=False)
    accounts.set_active(store, admin.id, False, second)
    with pytest.raises(NotFound):
        accounts.set_active(store, 9999, False, second)


def test_first_run_bootstrap(store, settings):
    password = auth.bootstrap_admin(store)
    assert password and len(password) >= auth.MIN_PASSWORD_LENGTH
    user, _ = auth.login(store, settings, "admin", password)
    assert user.role == "admin" and user.must_change_password  # a password shown on screen is changed at once
    assert auth.bootstrap_admin(store) is None


def test_outdated_hashes_are_upgraded_at_login(store, settings, users):
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PW)
    account_rows.update_user(store, users["psy"].id, password_hash=weak)
    auth.login(store, settings, "psy", PW)
    assert account_rows.get_user(store, users["psy"].id)["password_hash"] != weak
    auth.login(store, settings, "psy", PW)


def test_oidc_identity_maps_to_a_local_account(store, settings, users):
    admin = users["admin"]
    auth.create_user(store, "anna.smith@clinic.example", PW, "psychiatrist", "Dr Anna Smith", actor=admin)
    idp = "https://idp.example"
    user, token = oidc.login_oidc(store, settings, {"email": "anna.smith@clinic.example", "email_verified": True,
                                                    "iss": idp, "sub": "anna-1"})
    assert user.role == "psychiatrist" and auth.resume(store, settings, token) == user
    # The SSO session is not held to the admin-set password's forced change (there is no password in it).
    assert not user.must_change_password
    with pytest.raises(AuthError, match="No active mhdash account"):
        oidc.login_oidc(store, settings, {"email": "stranger@clinic.example", "email_verified": True, "iss": idp,
                                          "sub": "s-9"})
    with pytest.raises(AuthError, match="not verified"):
        oidc.login_oidc(store, settings, {"email": "anna.smith@clinic.example", "email_verified": False,
                                          "iss": idp, "sub": "anna-1"})
    with pytest.raises(AuthError, match="e-mail"):
        oidc.login_oidc(store, settings, {"sub": "123"})
    assert "auth.sso_refused" in _actions(store)


def test_oidc_needs_a_verified_email_and_binds_issuer_and_subject(store, settings, users):
    admin = users["admin"]
    auth.create_user(store, "anna.smith@clinic.example", PW, "psychiatrist", actor=admin)
    idp = "https://idp.example"
    anna = {"email": "anna.smith@clinic.example", "email_verified": True, "iss": idp, "sub": "anna-1"}
    # No email_verified claim at all is refused (it was accepted before).
    with pytest.raises(AuthError, match="not verified"):
        oidc.login_oidc(store, settings, {k: v for k, v in anna.items() if k != "email_verified"})
    with pytest.raises(AuthError, match="not verified"):
        oidc.login_oidc(store, settings, {**anna, "email_verified": "true"})  # a string is not a verification
    with pytest.raises(AuthError, match="issuer and subject"):
        oidc.login_oidc(store, settings, {k: v for k, v in anna.items() if k != "sub"})
    oidc.login_oidc(store, settings, anna)  # binds (idp, anna-1) to the account
    # Someone else at the same provider who gets the address later (a recycled mailbox) is refused.
    with pytest.raises(AuthError, match="linked to another identity"):
        oidc.login_oidc(store, settings, {**anna, "sub": "someone-else"})
    # The bound subject keeps its account even if the provider's e-mail claim changes.
    user, _ = oidc.login_oidc(store, settings, {**anna, "email": "anna.s@clinic.example"})
    assert user.username == "anna.smith@clinic.example"


def test_oidc_honours_the_lockout(store, settings, users):
    auth.create_user(store, "bob@clinic.example", PW, "psychiatrist", actor=users["admin"])
    s = settings.replace(lockout_threshold=2)
    for _ in range(2):
        with pytest.raises(AuthError):
            auth.login(store, s, "bob@clinic.example", "wrong password!")
    with pytest.raises(AccountLocked):
        oidc.login_oidc(store, s, {"email": "bob@clinic.example", "email_verified": True, "iss": "https://i",
                                   "sub": "b"})


def test_oidc_configured_reads_secrets(tmp_path):
    path = tmp_path / "secrets.toml"
    assert not oidc.oidc_configured(path)
    path.write_text('[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\n')
    assert oidc.oidc_configured(path)
    path.write_text("not = [toml")
    assert not oidc.oidc_configured(path)


def test_every_auth_event_is_chained(store, settings, users):
    with pytest.raises(AuthError):
        auth.login(store, settings, "psy", "wrong password!")
    _, token = auth.login(store, settings, "psy", PW)
    auth.logout(store, token)
    assert verify_chain(store)[0]
    assert {"user.create", "auth.login_failed", "auth.login", "auth.logout"} <= set(_actions(store))


# ---------------------------------------------------------------- CLI
def _cli(monkeypatch, tmp_path, *argv, stdin: str = ""):
    import io

    from core.cli import main

    monkeypatch.setenv("MHD_DATA_DIR", str(tmp_path / "cli-var"))
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(list(argv))


def test_cli_users_lifecycle(monkeypatch, tmp_path, capsys):
    assert _cli(monkeypatch, tmp_path, "users", "create-admin") == 0
    out = capsys.readouterr().out
    password = out.strip().splitlines()[-1].strip()
    assert _cli(monkeypatch, tmp_path, "users", "create", "dr.b", "--role", "psychiatrist", "--password-stdin",
                stdin="a long enough passphrase\n") == 0
    assert _cli(monkeypatch, tmp_path, "users", "list") == 0
    listing = capsys.readouterr().out
    assert "dr.b" in listing and "admin" in listing and password not in listing
    assert _cli(monkeypatch, tmp_path, "users", "disable", "dr.b") == 0
    assert "disabled" in _cli_list(monkeypatch, tmp_path, capsys)
    assert _cli(monkeypatch, tmp_path, "users", "enable", "dr.b") == 0
    assert _cli(monkeypatch, tmp_path, "users", "reset-password", "dr.b") == 0
    new = capsys.readouterr().out.strip().splitlines()[-1].split()[-1]
    assert _cli(monkeypatch, tmp_path, "users", "unlock", "dr.b") == 0
    assert _cli(monkeypatch, tmp_path, "users", "disable", "nobody") == 2
    assert _cli(monkeypatch, tmp_path, "users", "disable", "admin") == 2  # last admin
    from core.settings import load_settings
    from core.storage import open_store

    settings = load_settings()
    store = open_store(settings.database)
    auth.login(store, settings, "admin", password)
    auth.login(store, settings, "dr.b", new)
    assert _cli(monkeypatch, tmp_path, "audit", "verify") == 0
    assert "intact" in capsys.readouterr().out


def _cli_list(monkeypatch, tmp_path, capsys) -> str:
    capsys.readouterr()
    _cli(monkeypatch, tmp_path, "users", "list")
    return capsys.readouterr().out
