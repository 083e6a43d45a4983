"""Streamlit entry: builds the role-aware navigation and nothing else."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app import state  # noqa: E402
from app.navigation import pages_for  # noqa: E402
from app.session_guard import session_guard  # noqa: E402
from core.safety.deid import install_log_redaction  # noqa: E402

install_log_redaction()  # no PHI in application logs, tracebacks included

st.set_page_config(page_title="mhdash", page_icon=":material/psychology:", layout="wide")

ctx = state.context()
session_guard()  # automatic logoff: clears an unattended screen once the session times out
nav = st.navigation(pages_for(ctx.user))
with st.sidebar:
    st.markdown(f"**{ctx.user.display_name}** · {ctx.user.role_label}")
    if ctx.user.can("demo.use"):
        # The mode lives in a plain session key (widget state does not survive page switches).
        st.toggle("Demo mode (synthetic cohort)", value=bool(st.session_state.get(state.DEMO_KEY)),
                  key="demo_toggle", on_change=state.toggle_demo)
    if st.button("Log out", key="logout", icon=":material/logout:"):
        state.logout()
        st.rerun()
    st.caption("Decision support, not a diagnosis.")
nav.run()
