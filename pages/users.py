"""Users (admins): list accounts, create one, disable or re-enable, unlock, reset a password, change a role."""

import pandas as pd
import streamlit as st

from app import state
from core.errors import CoreError
from core.security import accounts, auth

ctx = state.context()
st.title("Users")
store = state.main_store()  # accounts always live in the clinical database, never the demo one


def _run(fn, *args, done: str = "", **kwargs):
    try:
        result = fn(*args, **kwargs)
    except CoreError as exc:
        state.show_error(exc)
        return None
    if done:
        st.session_state["users_notice"] = done
    return result if result is not None else True


try:
    rows = accounts.list_users(store, ctx.user)
except CoreError as exc:
    state.show_error(exc)
    st.stop()

notice = st.session_state.pop("users_notice", None)
if notice:
    st.success(notice)
secret = st.session_state.pop("users_secret", None)
if secret:
    st.warning(f"Password for **{secret[0]}**, shown once. Pass it on securely; it opens only the form to choose their own at the next login.")
    st.code(secret[1], language=None)

st.dataframe(
    pd.DataFrame([{
        "Username": r["username"], "Name": r["display_name"], "Role": r["role_label"],
        "Status": "disabled" if not r["active"] else ("locked" if r["locked"] else (
            "must choose a password" if r.get("must_change_password") else "active")),
        "Failed logins": r["failed_logins"], "Created": r["created_at"][:16].replace("T", " "),
    } for r in rows]),
    hide_index=True, width="stretch", key="users_table",
)

with st.expander("New account", icon=":material/person_add:"):
    with st.form("users_create", clear_on_submit=True):
        username = st.text_input("Username (or the person's e-mail for single sign-on)", key="users_new_username")
        display = st.text_input("Display name", key="users_new_name")
        role = st.selectbox("Role", auth.ROLES, format_func=auth.ROLE_LABELS.get, key="users_new_role")
        if st.form_submit_button("Create account"):
            import secrets

            password = secrets.token_urlsafe(15)
            if _run(auth.create_user, store, username, password, role, display, actor=ctx.user,
                    done=f"Account {username.strip()} created."):
                st.session_state["users_secret"] = (username.strip(), password)
                st.rerun()

st.subheader("Manage an account")
by_name = {r["username"]: r for r in rows}
pick = st.selectbox("Account", list(by_name), key="users_pick")
if pick:
    target = by_name[pick]
    c1, c2, c3, c4 = st.columns(4)
    if target["active"]:
        if c1.button("Disable", key="users_disable", icon=":material/block:"):
            if _run(accounts.set_active, store, target["id"], False, ctx.user, done=f"{pick} disabled; sessions ended."):
                st.rerun()
    elif c1.button("Enable", key="users_enable", icon=":material/check_circle:"):
        if _run(accounts.set_active, store, target["id"], True, ctx.user, done=f"{pick} enabled."):
            st.rerun()
    if c2.button("Unlock", key="users_unlock", disabled=not target["locked"], icon=":material/lock_open:"):
        if _run(accounts.unlock, store, target["id"], ctx.user, done=f"{pick} unlocked."):
            st.rerun()
    if c3.button("Reset password", key="users_reset", icon=":material/key:"):
        password = _run(accounts.reset_password, store, target["id"], ctx.user,
                        done=f"{pick}: password reset, sessions ended.")
        if password:
            st.session_state["users_secret"] = (pick, password)
            st.rerun()
    with c4.popover("Change role", icon=":material/badge:"):
        new_role = st.selectbox("New role", auth.ROLES, index=auth.ROLES.index(target["role"]),
                                format_func=auth.ROLE_LABELS.get, key="users_role_pick")
        if st.button("Apply role", key="users_role_apply"):
            if _run(accounts.set_role, store, target["id"], new_role, ctx.user,
                    done=f"{pick} is now {auth.ROLE_LABELS[new_role]}; their sessions ended."):
                st.rerun()
