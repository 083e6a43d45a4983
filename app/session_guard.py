"""Automatic logoff on screen: an unattended page goes back to the login gate when its session expires.

``state.context()`` checks the idle timeout only when the script reruns, that is when the person next
clicks; until then a page full of PHI would stay on an unattended screen. ``session_guard`` is a
fragment that reruns by itself every ``CHECK_SECONDS``, asks core whether the session is still live
(without counting the check as activity, or the screen would keep itself logged in), and once it is
not, forgets everything the session held and reruns the whole app, which shows the login form.
"""

from __future__ import annotations

import streamlit as st

from app import state
from core.errors import SessionExpired
from core.security import auth

# An unattended screen clears at most this long after the idle timeout ends the session.
CHECK_SECONDS = 30
FRAGMENT_KEY = "session_guard"


@st.fragment(run_every=CHECK_SECONDS, key=FRAGMENT_KEY)
def session_guard() -> None:
    token = st.session_state.get(state.TOKEN_KEY)
    if not token:
        return
    try:
        auth.resume(state.main_store(), state.settings(), token, touch=False)
    except SessionExpired as exc:
        _end_on_screen(str(exc))


def _end_on_screen(notice: str) -> None:
    """Drop every session key (token, chosen patient, prepared exports), then rerun into the login gate."""
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state["login_notice"] = notice
    if not state.end_provider_session():
        st.rerun()
