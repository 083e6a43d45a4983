"""Automatic logoff on screen (AppTest): a PHI page left open returns to the login form once the session expires.

The browser reruns a ``run_every`` fragment on a timer, without rerunning the page. AppTest has no timer, so
``_timer_tick`` asks for exactly that rerun: only the guard fragment runs (as the frontend's auto-rerun
request would), not the page script, whose own session check would otherwise hide a missing guard.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from app.session_guard import FRAGMENT_KEY
from core.clinical import patients
from core.security import auth
from core.storage import accounts as account_rows
from core.storage.audit import list_events
from tests.conftest import ROOT

pytestmark = pytest.mark.filterwarnings("ignore")

NAME = "Zelda Quixote"
NOTE = f"Mrs {NAME} reports low mood and poor sleep for three weeks."


def _shown(at) -> str:
    parts = [e.value for e in at.title] + [e.value for e in at.caption] + [e.value for e in at.markdown]
    parts += [e.value for e in at.info] + [e.value for e in at.error]
    return "\n".join(str(p) for p in parts)


def _timer_tick(at, monkeypatch):
    """Rerun only the session-guard fragment, as its ``run_every`` timer does in the browser."""
    from streamlit.testing.v1 import local_script_runner

    [fragment_id] = at._fragment_storage._ids_by_target_key[FRAGMENT_KEY]
    base = local_script_runner.RerunData

    def fragment_rerun(**kwargs):
        return dataclasses.replace(base(**kwargs), fragment_id_queue=[fragment_id], is_auto_rerun=True)

    with monkeypatch.context() as m:
        m.setattr(local_script_runner, "RerunData", fragment_rerun)
        at.run()
    return at


@pytest.fixture
def patient_page(app_env):
    from streamlit.testing.v1 import AppTest

    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-GUARD", display_name=NAME, consent_ml=True)
    patients.add_visit(ctx, pid, "2026-01-05", NOTE)
    _, token = auth.login(app_env.store, app_env.settings, "psy", "correct horse battery")
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=120)
    at.session_state["auth_token"] = token
    at.session_state["patient_id"] = pid
    at.run()
    at.switch_page("../pages/patient.py").run()
    assert not at.exception, at.exception
    assert NAME in _shown(at)  # PHI on the screen
    return at, token


def test_timer_check_keeps_a_live_session_and_does_not_extend_it(app_env, patient_page, monkeypatch):
    at, token = patient_page
    before = account_rows.get_session(app_env.store, auth.token_hash(token))["last_seen"]
    _timer_tick(at, monkeypatch)
    assert not at.exception, at.exception
    assert at.session_state["auth_token"] == token
    assert account_rows.get_session(app_env.store, auth.token_hash(token))["last_seen"] == before  # not activity
    assert not list_events(app_env.store, action="auth.timeout")


def test_expired_session_clears_the_open_page_to_the_login_form(app_env, patient_page, monkeypatch):
    at, token = patient_page
    later = datetime.now(UTC) + timedelta(minutes=app_env.settings.idle_timeout_minutes + 1)
    monkeypatch.setattr(auth, "utc_now", lambda: later)  # the screen was left alone past the idle timeout
    _timer_tick(at, monkeypatch)
    assert not at.exception, at.exception
    assert [b.label for b in at.button] == ["Log in"]
    assert NAME not in _shown(at) and "P-GUARD" not in _shown(at)
    assert "idle minutes" in _shown(at)  # the login form says why
    assert "auth_token" not in at.session_state and "patient_id" not in at.session_state
    assert list_events(app_env.store, action="auth.timeout")
    monkeypatch.undo()
    with pytest.raises(auth.SessionExpired):  # ended for good, not just hidden
        auth.resume(app_env.store, app_env.settings, token)
