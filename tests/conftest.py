"""Shared fixtures: a temporary database, users of every role, settings that never touch the network."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import settings as _hypothesis_settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Under pytest-xdist the workers share the cores: each gets its share of threads (two workers on 2 cores with two
# OpenMP threads each spin against each other; measured 20 % slower wall time and more CPU). Set before torch loads;
# servers and CLIs the tests start inherit it.
if (_workers := os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")).isdigit() and int(_workers) > 1:
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // int(_workers))))
# Property tests explore new random examples on every developer run; CI (.ci/run sets HYPOTHESIS_PROFILE=ci) runs a
# fixed, derandomised set, so a rare example found by chance cannot turn CI red on a change that did not cause it.
# A failure found locally is kept as a plain regression test (tests/test_uploads.py has one).
_hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
_hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
# AppTest should show the real error; the served app hides details (.streamlit/config.toml).
os.environ.setdefault("STREAMLIT_CLIENT_SHOW_ERROR_DETAILS", "full")

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"

# The suite is hermetic: a developer's own mhdash.toml or exported MHD_* settings (a production profile, a real
# database path) must neither break it nor be touched by it. Subprocesses inherit the empty config below.
_HARNESS = {"MHD_REQUIRE_BROWSER", "MHD_REQUIRE_REDIS", "MHD_STRESS_SECONDS"}
for _key in [k for k in os.environ if k.startswith("MHD_") and k not in _HARNESS]:
    del os.environ[_key]
_EMPTY_CONFIG = Path(tempfile.mkdtemp(prefix="mhd-test-config-")) / "mhdash.toml"
_EMPTY_CONFIG.write_text("# the test suite runs on the defaults\n", encoding="utf-8")
os.environ["MHD_CONFIG"] = str(_EMPTY_CONFIG)


@pytest.fixture
def settings(tmp_path):
    from core.settings import load_settings

    return load_settings(env={}, data_dir=tmp_path / "var")


@pytest.fixture
def store(settings):
    from core.storage import open_store

    s = open_store(settings.database)
    yield s
    s.close()


_FIXTURE_HASHES: dict[str, str] = {}


@contextmanager
def _one_hash_per_password():
    """While a fixture creates its accounts, a password is hashed once per run and that (real, salted argon2id)
    hash is reused: six accounts per test cost six argon2 runs (about 1.3 s), over a third of the suite's time.
    Logging in still verifies with argon2; tests of hashing itself call it outside this block."""
    from core.security import auth

    real = auth.hash_password

    def once(password: str) -> str:
        if password not in _FIXTURE_HASHES:
            _FIXTURE_HASHES[password] = real(password)
        return _FIXTURE_HASHES[password]

    auth.hash_password = once
    try:
        yield
    finally:
        auth.hash_password = real


@pytest.fixture
def users(store):
    """One account per role; passwords are 'correct horse battery'."""
    from core.security import auth

    # must_change=False: these tests are about something else (tests/test_auth.py covers the forced change).
    with _one_hash_per_password():
        admin = auth.create_user(store, "admin", "correct horse battery", "admin", must_change=False)
        out = {"admin": admin}
        for name, role in [("psy", "psychiatrist"), ("psy2", "psychiatrist"), ("lead", "clinical_lead"),
                           ("qa", "qa_reviewer"), ("qa2", "qa_reviewer")]:
            out[name] = auth.create_user(store, name, "correct horse battery", role, actor=admin, must_change=False)
    return out


@pytest.fixture
def shared_data():
    if not SHARED_DATA.exists():
        pytest.skip(f"reference data not found at {SHARED_DATA} (the ../shared checkout is absent)")
    return SHARED_DATA


PASSWORD = "correct horse battery"


@pytest.fixture
def app_env(tmp_path, monkeypatch):
    """A temporary data dir for AppTest runs, one account per role, and a factory of logged-in AppTests.

    Usage: ``at = app_env.page("pages/patients.py", "psy")``; ``app_env.ctx("psy")`` gives a core Context on
    the same database for arranging data.
    """
    import streamlit as st

    from core.context import Context
    from core.security import auth
    from core.settings import load_settings
    from core.storage import open_store

    monkeypatch.setenv("MHD_DATA_DIR", str(tmp_path / "var"))
    # No start-up warm-up or in-app worker: every test clears the resource cache, so each run of app/main.py would
    # start another background load of the language model that outlives its test and takes CPU from the next ones.
    # A page that needs the model still loads it on demand (tests/test_background_pages.py covers the worker).
    monkeypatch.setenv("MHD_LLM_WARMUP", "0")
    monkeypatch.setenv("MHD_RATIONALE_WORKER", "0")
    st.cache_resource.clear()
    st.cache_data.clear()
    settings = load_settings()
    store = open_store(settings.database)
    with _one_hash_per_password():
        admin = auth.create_user(store, "admin", PASSWORD, "admin", must_change=False)
        users = {"admin": admin}
        for name, role in [("psy", "psychiatrist"), ("psy2", "psychiatrist"), ("lead", "clinical_lead"),
                           ("qa", "qa_reviewer")]:
            users[name] = auth.create_user(store, name, PASSWORD, role, actor=admin, must_change=False)

    class Env:
        def __init__(self):
            self.settings, self.store, self.users = settings, store, users

        def ctx(self, name: str, demo: bool = False) -> Context:
            target = open_store(settings.demo_database) if demo else store
            return Context(settings=settings, store=target, user=users[name], demo=demo)

        def page(self, script: str, name: str | None, **session):
            from streamlit.testing.v1 import AppTest

            at = AppTest.from_file(str(ROOT / script), default_timeout=120)
            if name is not None:
                _, token = auth.login(store, settings, name, PASSWORD)
                at.session_state["auth_token"] = token
            for key, value in session.items():
                at.session_state[key] = value
            return at

    yield Env()
    st.cache_resource.clear()
    store.close()


def pytest_sessionfinish(session):
    """Under pytest-xdist a worker hands its robustness counts and attack figures to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is None:
        return
    import json

    from tests import robustness
    from tests.attack.conftest import FIGURES

    workeroutput["mhd_robustness"] = json.dumps(robustness.export())
    workeroutput["mhd_attack_figures"] = json.dumps(FIGURES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """The xdist controller merges what each worker measured, so the summary lines cover the whole run."""
    import json

    from tests import robustness
    from tests.attack.conftest import FIGURES

    out = getattr(node, "workeroutput", {}) or {}
    if "mhd_robustness" in out:
        robustness.merge(json.loads(out["mhd_robustness"]))
    FIGURES.update(json.loads(out.get("mhd_attack_figures", "{}")))


def pytest_terminal_summary(terminalreporter):
    """One line with the robustness cases the run tried (tests/robustness.py)."""
    from tests import robustness
    from tests.attack.conftest import write_summary

    write_summary(terminalreporter)
    terminalreporter.write_line(robustness.summary())


def pytest_collection_modifyitems(config, items):
    """The browser journeys (the longest file, kept on one xdist worker) start first, so the other worker's many
    short files fill the time beside them instead of one long file running alone at the end."""
    items.sort(key=lambda item: 0 if "/browser/" in item.nodeid.replace("\\", "/") else 1)
