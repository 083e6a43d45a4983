"""The change-password form: the Account page and the forced change after an admin-set password use this one."""

from __future__ import annotations

import streamlit as st

from core.errors import CoreError
from core.security import auth


def client_address() -> str:
    """The browser's address as Streamlit sees it ("" when unknown, e.g. in tests): logins are rate-limited by it."""
    try:
        return str(st.context.ip_address or "")
    except Exception:  # older Streamlit, or no request context
        return ""


def change_password_form(user: auth.User, *, key: str = "account") -> bool:
    """Current password, new one twice; on success the session token is replaced (the change ends every other
    session) and True is returned. Errors are shown in place."""
    from app import state

    with st.form(f"{key}_password", clear_on_submit=True):
        current = st.text_input("Current password", type="password", key=f"{key}_current")
        new = st.text_input(f"New password (at least {auth.MIN_PASSWORD_LENGTH} characters)", type="password",
                            key=f"{key}_new")
        again = st.text_input("New password again", type="password", key=f"{key}_again")
        submitted = st.form_submit_button("Change password")
    if not submitted:
        return False
    if new != again:
        st.error("The two new passwords differ; nothing was changed.")
        return False
    try:
        token = auth.change_password(state.main_store(), state.settings(), user, current, new,
                                     client=client_address())
    except CoreError as exc:
        state.show_error(exc)
        return False
    st.session_state[state.TOKEN_KEY] = token
    st.session_state["account_notice"] = "Password changed. Your other sessions were logged out."
    return True
