"""Session gate, the per-session Context and the role-aware page list.

Every page starts with ``ctx = state.context()``: it renders the login form and
stops the script when nobody is logged in, so no page shows PHI before login.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.context import Context
from core.errors import AuthError, CoreError, SessionExpired
from core.security import auth, oidc
from core.settings import load_settings
from core.storage import Store, open_store

ROOT = Path(__file__).resolve().parent.parent
TOKEN_KEY = "auth_token"
DEMO_KEY = "demo_mode"
AFTER_LOGIN_KEY = "after_login_page"  # the page a deep link asked for, opened once the person has logged in


@st.cache_resource(show_spinner=False)
def _settings():
    return load_settings()


@st.cache_resource(show_spinner=False)
def _store(path: str) -> Store:
    return open_store(path, key=_settings().database_key)


def settings():
    return _settings()


def main_store() -> Store:
    return _store(str(settings().database))


def demo_store() -> Store:
    return _store(str(settings().demo_database))


def _login_form() -> None:
    st.title("mhdash")
    st.caption("Interpretable mental-health text analysis. Decision support, not a diagnosis.")
    notice = st.session_state.pop("login_notice", None)
    if notice:
        st.info(notice)
    with st.form("login", clear_on_submit=False):
        username = st.text_input("Username", key="login_username")
        password = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Log in")
    if oidc.oidc_configured(ROOT / ".streamlit" / "secrets.toml"):
        if st.button("Log in with single sign-on", key="login_sso"):
            st.login()
    if submitted:
        from app.account import client_address

        try:
            _, token = auth.login(main_store(), settings(), username, password, client=client_address())
        except AuthError as exc:
            st.error(str(exc))
            return
        st.session_state[TOKEN_KEY] = token
        st.rerun()


def _sso_token() -> str | None:
    """An identity proven by the OIDC provider becomes a local session (the local account sets the role)."""
    if not oidc.oidc_configured(ROOT / ".streamlit" / "secrets.toml") or not st.user.is_logged_in:
        return None
    try:
        _, token = oidc.login_oidc(main_store(), settings(), st.user.to_dict())
    except AuthError as exc:
        st.session_state["login_notice"] = str(exc)
        st.logout()
        return None
    st.session_state[TOKEN_KEY] = token
    return token


def current_user() -> auth.User | None:
    token = st.session_state.get(TOKEN_KEY) or _sso_token()
    if not token:
        return None
    try:
        return auth.resume(main_store(), settings(), token)
    except SessionExpired as exc:
        st.session_state.pop(TOKEN_KEY, None)
        st.session_state["login_notice"] = str(exc)
        end_provider_session()
        return None


def end_provider_session() -> bool:
    """Sign a single-sign-on user out of the identity provider as well (True when that happened; st.logout
    reruns the app). Otherwise the provider's cookie would open a fresh session on the next rerun: an ended
    session must mean signing in again, for single sign-on too."""
    if oidc.oidc_configured(ROOT / ".streamlit" / "secrets.toml") and st.user.is_logged_in:
        st.logout()
        return True
    return False


def context() -> Context:
    """The caller's Context, or the login form and a stop when nobody is logged in."""
    user = current_user()
    if user is None:
        _login_form()
        st.stop()
    if user.must_change_password:
        _forced_change(user)
        st.stop()
    demo = bool(st.session_state.get(DEMO_KEY)) and user.can("demo.use")
    store = demo_store() if demo else main_store()
    ctx = Context(settings=settings(), store=store, user=user, demo=demo)
    if demo:
        _enter_demo(store, user)
        st.markdown(
            "<div class='demo-watermark'>DEMO · synthetic patients</div>"
            "<style>.demo-watermark{position:fixed;top:3.2rem;right:1rem;z-index:1000;background:#b45309;"
            "color:white;padding:2px 10px;border-radius:4px;font-weight:700;letter-spacing:.05em;}</style>",
            unsafe_allow_html=True,
        )
    return ctx


def _forced_change(user: auth.User) -> None:
    """A password set by an administrator opens nothing but this form until the person chooses their own."""
    from app.account import change_password_form

    st.title("Choose a new password")
    st.info(f"Welcome, {user.display_name}. Your password was set by an administrator; choose your own before "
            "you continue. Nobody else will know it.")
    if change_password_form(user, key="forced"):
        st.rerun()
    if st.button("Log out", key="forced_logout"):
        logout()
        st.rerun()


def _enter_demo(store: Store, user: auth.User) -> None:
    from core.clinical import demo

    if st.session_state.get("_demo_ready") != user.id:
        demo.seed_demo(store)  # no-op when already seeded
        demo.mirror_user(store, user)
        st.session_state["_demo_ready"] = user.id


def toggle_demo() -> None:
    st.session_state[DEMO_KEY] = bool(st.session_state.get("demo_toggle"))
    st.session_state.pop("patient_id", None)  # ids differ between the clinical and the demo database


def logout() -> None:
    auth.logout(main_store(), st.session_state.pop(TOKEN_KEY, None))
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if oidc.oidc_configured(ROOT / ".streamlit" / "secrets.toml") and st.user.is_logged_in:
        st.logout()


def page(*, require: str | tuple[str, ...] = ()) -> Context:
    """The caller's Context once past the login gate and the page's permissions; a message and a stop otherwise."""
    ctx = context()
    for permission in (require,) if isinstance(require, str) else require:
        try:
            ctx.require(permission)
        except CoreError as exc:
            show_error(exc)
            st.stop()
    return ctx


def call(fn, *args, success: str = "", **kwargs):
    """Call one core function: a library error becomes a message (and None), success an optional toast."""
    try:
        result = fn(*args, **kwargs)
    except CoreError as exc:
        show_error(exc)
        return None
    if success:
        st.toast(success)
    return result


def show_error(exc: CoreError) -> None:
    """Translate a library error into a message for the person at the screen."""
    st.error(str(exc))
