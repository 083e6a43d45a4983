"""Every role against every page (AppTest): what each may and may not see.

The page list comes from ``app/navigation.PAGES``, so a page added later is covered automatically. A database
holds one psychiatrist's patient whose name, phone number and note are markers; each page is run for each role
(and for nobody) and everything it rendered, dataframes included, is searched for them.
"""

from __future__ import annotations

import pytest

from app.navigation import PAGES, PAGES_DIR, allowed_pages
from core.clinical import patients
from core.security import auth
from core.storage import records

pytestmark = pytest.mark.filterwarnings("ignore")

NAME = "Zelda Quixote"
PHONE = "555-867-5309"
NOTE_MARKER = "Xylophonic"  # a plain word of the note: reviewers may see it (de-identified note), others not
NOTE = (f"Patient: {NAME}\nMrs {NAME} called from {PHONE}. {NOTE_MARKER} dreams, low mood, poor sleep "
        "for three weeks. No thoughts of self-harm.")

ROLES = {"psy": "psychiatrist", "psy2": "psychiatrist", "lead": "clinical_lead", "qa": "qa_reviewer",
         "admin": "admin", None: "nobody"}
PAGE_FILES = [p[0] for p in PAGES if (PAGES_DIR / p[0]).exists()]


def _may_see(who: str | None) -> set[str]:
    """Which markers a person may see anywhere."""
    if who in ("psy", "lead"):
        return {NAME, PHONE, NOTE_MARKER}
    if who == "qa":
        return {NOTE_MARKER}  # the de-identified note only
    return set()


def _rendered(at) -> str:
    """Every element's protobuf as text: markdown, tables (Arrow bytes keep ASCII readable), widgets, errors."""
    out = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None:
            out.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(out)


@pytest.fixture
def matrix(app_env):
    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-MATRIX", display_name=NAME, consent_ml=True)
    vid = patients.add_visit(ctx, pid, "2026-01-05", NOTE)
    from core.models.heads import HEADS

    heads = {h.name: {"value": (h.low + h.high) / 2, "std": (h.high - h.low) / 20} for h in HEADS}
    records.insert_analysis(app_env.store, visit_id=vid, kind="heads", task="heads", outputs={"heads": heads},
                            model_id="test", model_version="v0")
    return app_env, pid


def _run(env, page: str, who: str | None, pid: int):
    at = env.page(f"pages/{page}", who, patient_id=pid)
    return at.run()


@pytest.mark.parametrize("page", PAGE_FILES)
@pytest.mark.parametrize("who", list(ROLES), ids=[str(r) for r in ROLES])
def test_role_page_matrix(matrix, page, who):
    env, pid = matrix
    at = _run(env, page, who, pid)
    assert not at.exception, [e.value for e in at.exception]
    shown = _rendered(at)
    for marker in {NAME, PHONE, NOTE_MARKER} - _may_see(who):
        assert marker not in shown, f"{who} sees {marker!r} on {page}"
    if who is None:
        assert [b.label for b in at.button] == ["Log in"], "a page rendered before login"
        return
    user = env.users[who]
    allowed = page in allowed_pages(user)
    errors = " ".join(e.value for e in at.error)
    if allowed:
        assert "does not allow" not in errors, f"{who} ({user.role}) refused on {page}: {errors}"
    else:
        assert at.error, f"{who} ({user.role}) reached {page} without an error"
        assert not at.dataframe, f"{who} ({user.role}) sees a table on {page}"


def test_owner_sees_their_patient_and_the_other_psychiatrist_does_not(matrix):
    env, pid = matrix
    own = _rendered(_run(env, "patient.py", "psy", pid))
    assert NAME in own or "P-MATRIX" in own
    other = _run(env, "patient.py", "psy2", pid)
    assert "another psychiatrist" in " ".join(e.value for e in other.error)
    assert "P-MATRIX" not in _rendered(_run(env, "patients.py", "psy2", pid))


def test_navigation_lists_exactly_the_permitted_pages(app_env):
    expected = {
        "psychiatrist": {"patients.py", "patient.py", "models.py", "account.py"},
        "clinical_lead": {"patients.py", "patient.py", "cohort.py", "quality.py", "models.py", "account.py"},
        "qa_reviewer": {"review.py", "quality.py", "account.py"},
        "admin": {"models.py", "users.py", "audit.py", "account.py"},
    }
    for name, role in [("psy", "psychiatrist"), ("lead", "clinical_lead"), ("qa", "qa_reviewer"),
                       ("admin", "admin")]:
        assert set(allowed_pages(app_env.users[name])) == expected[role], role


@pytest.mark.parametrize("who", ["psy", "lead", "qa", "admin", None])
def test_app_entry_per_role(matrix, who):
    from streamlit.testing.v1 import AppTest

    env, pid = matrix
    at = AppTest.from_file(str(PAGES_DIR.parent / "app" / "main.py"), default_timeout=120)
    if who:
        _, token = auth.login(env.store, env.settings, who, "correct horse battery")
        at.session_state["auth_token"] = token
    at.run()
    assert not at.exception
    shown = _rendered(at)
    for marker in {NAME, PHONE, NOTE_MARKER} - _may_see(who):
        assert marker not in shown
    if who is None:
        assert [b.label for b in at.button] == ["Log in"]
    else:
        assert any(b.label == "Log out" for b in at.button)


def test_logout_from_the_app_ends_the_session(matrix):
    from streamlit.testing.v1 import AppTest

    env, _ = matrix
    at = AppTest.from_file(str(PAGES_DIR.parent / "app" / "main.py"), default_timeout=120)
    _, token = auth.login(env.store, env.settings, "psy", "correct horse battery")
    at.session_state["auth_token"] = token
    at.run()
    at.button(key="logout").click().run()
    assert not at.exception
    with pytest.raises(auth.SessionExpired):
        auth.resume(env.store, env.settings, token)
    assert [b.label for b in at.button] == ["Log in"]
