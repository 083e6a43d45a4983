"""Streamlit entry: builds the role-aware navigation and nothing else."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app import background, state  # noqa: E402
from app.navigation import all_pages, pages_for  # noqa: E402
from app.session_guard import session_guard  # noqa: E402
from core.safety.deid import install_log_redaction  # noqa: E402

install_log_redaction()  # no PHI in application logs, tracebacks included

st.set_page_config(page_title="mhdash", page_icon=":material/psychology:", layout="wide")
background.start()  # the language model starts loading and the rationale worker starts, once per process

if state.current_user() is None:
    # Before login the navigation holds every page, hidden, so a deep link keeps its address through the login
    # form; the page asked for is remembered and opened after login when the role may see it.
    asked = st.navigation(all_pages(), position="hidden")
    st.session_state[state.AFTER_LOGIN_KEY] = asked.url_path
ctx = state.context()
session_guard()  # automatic logoff: clears an unattended screen once the session times out
nav = st.navigation(pages_for(ctx.user))
if (wanted := st.session_state.pop(state.AFTER_LOGIN_KEY, None)) and wanted != nav.url_path:
    target = next((p for ps in pages_for(ctx.user).values() for p in ps if p.url_path == wanted), None)
    if target is not None:
        st.switch_page(target)
with st.sidebar:
    st.markdown(f"**{ctx.user.display_name}** · {ctx.user.role_label}")
    if ctx.user.can("demo.use"):
        # The mode lives in a plain session key (widget state does not survive page switches).
        st.toggle("Demo mode (synthetic cohort)", value=bool(st.session_state.get(state.DEMO_KEY)),
                  key="demo_toggle", on_change=state.toggle_demo)
    if ctx.user.can("analyses.run"):
        background.warmup_notice(compact=True)
        background.my_jobs_sidebar(ctx)
    if st.button("Log out", key="logout", icon=":material/logout:"):
        state.logout()
        st.rerun()
    st.caption("Decision support, not a diagnosis.")
nav.run()
