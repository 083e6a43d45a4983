"""Account (every role): who is logged in, and changing one's own password."""

import streamlit as st

from app import state
from app.account import change_password_form

ctx = state.context()
st.title("Account")
notice = st.session_state.pop("account_notice", None)
if notice:
    st.success(notice)
st.markdown(f"**{ctx.user.display_name}** · `{ctx.user.username}` · {ctx.user.role_label}")
st.subheader("Change password")
st.caption("Changing it logs out every other session of this account.")
if change_password_form(ctx.user):
    st.rerun()
