"""Shared fixtures: a temporary database, users of every role, settings that never touch the network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


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


@pytest.fixture
def users(store):
    """One account per role; passwords are 'correct horse battery'."""
    from core import auth

    admin = auth.create_user(store, "admin", "correct horse battery", "admin")
    out = {"admin": admin}
    for name, role in [("psy", "psychiatrist"), ("psy2", "psychiatrist"), ("lead", "clinical_lead"),
                       ("qa", "qa_reviewer"), ("qa2", "qa_reviewer")]:
        out[name] = auth.create_user(store, name, "correct horse battery", role, actor=admin)
    return out


@pytest.fixture
def shared_data():
    if not SHARED_DATA.exists():
        pytest.skip(f"reference data not found at {SHARED_DATA} (the ../shared checkout is absent)")
    return SHARED_DATA
