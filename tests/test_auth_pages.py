"""Users and Audit trail pages with AppTest: admins manage accounts and read the trail; nobody else can."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.security import auth

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.filterwarnings("ignore")


def _texts(at) -> str:
    parts = [e.value for e in at.error] + [e.value for e in at.success] + [e.value for e in at.warning]
    parts += [m.value for m in at.markdown] + [c.value for c in at.code] + [t.value for t in at.title]
    return "\n".join(str(p) for p in parts)


def test_users_page_lists_and_creates_accounts(app_env):
    at = app_env.page("pages/users.py", "admin").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert set(table["Username"]) >= {"admin", "psy", "lead", "qa"}
    assert "password_hash" not in table.columns
    at.text_input(key="users_new_username").set_value("dr.new")
    at.selectbox(key="users_new_role").set_value("psychiatrist")
    at.button[0].click().run()  # the form's submit button
    assert not at.exception
    text = _texts(at)
    assert "dr.new created" in text
    password = at.code[0].value
    auth.login(app_env.store, app_env.settings, "dr.new", password)
    at.run()
    assert not at.code  # shown once


def test_users_page_disable_reset_and_last_admin(app_env):
    at = app_env.page("pages/users.py", "admin").run()
    at.selectbox(key="users_pick").set_value("psy").run()
    at.button(key="users_disable").click().run()
    assert "psy disabled" in _texts(at)
    with pytest.raises(auth.AuthError):
        auth.login(app_env.store, app_env.settings, "psy", "correct horse battery")
    at.selectbox(key="users_pick").set_value("psy").run()
    at.button(key="users_enable").click().run()
    at.button(key="users_reset").click().run()
    new = at.code[0].value
    auth.login(app_env.store, app_env.settings, "psy", new)
    at.selectbox(key="users_pick").set_value("admin").run()
    at.button(key="users_disable").click().run()
    assert "cannot disable your own account" in _texts(at)


def test_audit_page_filters_verifies_and_exports(app_env):
    with pytest.raises(auth.AuthError):
        auth.login(app_env.store, app_env.settings, "psy", "wrong password!")
    at = app_env.page("pages/audit.py", "admin").run()
    assert not at.exception
    actions = set(at.dataframe[0].value["Action"])
    assert {"user.create", "auth.login", "auth.login_failed"} <= actions
    at.text_input(key="audit_action").set_value("auth.").run()
    assert set(at.dataframe[0].value["Action"]) <= {"auth.login", "auth.login_failed"}
    at.button(key="audit_verify").click().run()
    assert "Chain intact" in _texts(at)
    at.button(key="audit_export").click().run()
    assert not at.exception
    assert at.session_state["audit_csv"].startswith("id,ts,user_id")


def test_audit_page_reports_tampering(app_env):
    store = app_env.store
    store.db.execute("DROP TRIGGER audit_no_update")
    store.db.execute("UPDATE audit_events SET username = 'someone-else' WHERE id = 2")
    at = app_env.page("pages/audit.py", "admin").run()
    at.button(key="audit_verify").click().run()
    assert "TAMPERED: event 2" in _texts(at)


@pytest.mark.parametrize("page", ["pages/users.py", "pages/audit.py"])
@pytest.mark.parametrize("who", ["psy", "lead", "qa"])
def test_non_admins_are_refused(app_env, page, who):
    at = app_env.page(page, who).run()
    assert not at.exception
    assert at.error and "does not allow" in at.error[0].value
    assert not at.dataframe


@pytest.mark.parametrize("page", ["pages/users.py", "pages/audit.py"])
def test_nobody_logged_in_sees_the_login_form(app_env, page):
    at = app_env.page(page, None).run()
    assert not at.exception and not at.dataframe
    assert at.text_input(key="login_username") is not None


def test_forced_password_change_at_first_login(app_env):
    """An admin-created account sees only the change form until it chooses its own password; then the app."""
    from streamlit.testing.v1 import AppTest

    from core.security import auth

    auth.create_user(app_env.store, "newdoc", "temporary pass 123", "psychiatrist", actor=app_env.users["admin"])
    _, token = auth.login(app_env.store, app_env.settings, "newdoc", "temporary pass 123")
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=120)
    at.session_state["auth_token"] = token
    at.run()
    assert not at.exception
    assert "Choose a new password" in [t.value for t in at.title]
    assert not any(b.label == "Log out" and b.key == "logout" for b in at.button)  # no navigation, no pages
    at.text_input(key="forced_current").set_value("temporary pass 123")
    at.text_input(key="forced_new").set_value("my very own passphrase")
    at.text_input(key="forced_again").set_value("my very own passphrase")
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(b.key == "logout" for b in at.button)  # the app itself now
    with pytest.raises(auth.SessionExpired):
        auth.resume(app_env.store, app_env.settings, token)  # the admin-era session is gone
    user, _ = auth.login(app_env.store, app_env.settings, "newdoc", "my very own passphrase")
    assert not user.must_change_password


def test_account_page_changes_the_password(app_env):
    from core.security import auth

    at = app_env.page("pages/account.py", "qa").run()
    assert not at.exception
    at.text_input(key="account_current").set_value("correct horse battery")
    at.text_input(key="account_new").set_value("another long passphrase")
    at.text_input(key="account_again").set_value("another long passphrase")
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Password changed" in " ".join(s.value for s in at.success)
    auth.login(app_env.store, app_env.settings, "qa", "another long passphrase")
