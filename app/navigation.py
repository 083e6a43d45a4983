"""Which pages each role sees. Services enforce the same rules in core."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.security.auth import User

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"

# (file, title, icon, permission, section); permission None: every logged-in account
PAGES = [
    ("patients.py", "Patients", ":material/groups:", "patients.read", "Clinical"),
    ("patient.py", "Patient", ":material/person:", "patients.read", "Clinical"),
    ("cohort.py", "Cohort", ":material/monitoring:", "cohort.read", "Clinical"),
    ("review.py", "Review queue", ":material/fact_check:", "review.queue", "Quality"),
    ("quality.py", "Quality", ":material/insights:", "quality.read", "Quality"),
    ("models.py", "Models", ":material/model_training:", "models.read", "System"),
    ("users.py", "Users", ":material/manage_accounts:", "users.manage", "System"),
    ("audit.py", "Audit trail", ":material/policy:", "audit.read", "System"),
    ("account.py", "Account", ":material/account_circle:", None, "Account"),
]


def _allowed(user: User, permission: str | None) -> bool:
    return permission is None or user.can(permission)


def allowed_pages(user: User) -> list[str]:
    return [f for f, _, _, perm, _ in PAGES if _allowed(user, perm)]


def _page(file: str, title: str, icon: str):
    return st.Page(str(PAGES_DIR / file), title=title, icon=icon, url_path=file.removesuffix(".py"))


def all_pages() -> list:
    """Every page, for the navigation shown before login (hidden: it only keeps a deep link's address)."""
    return [_page(file, title, icon) for file, title, icon, _, _ in PAGES if (PAGES_DIR / file).exists()]


def pages_for(user: User) -> dict[str, list]:
    sections: dict[str, list] = {}
    for file, title, icon, perm, section in PAGES:
        if not _allowed(user, perm) or not (PAGES_DIR / file).exists():
            continue
        sections.setdefault(section, []).append(_page(file, title, icon))
    return sections


def go(file: str, **state) -> None:
    """Switch to another page, passing values through the session state."""
    st.session_state.update(state)
    spec = next(p for p in PAGES if p[0] == file)
    try:
        st.switch_page(_page(spec[0], spec[1], spec[2]))
    except st.errors.StreamlitAPIException:
        # A page run on its own (tests) has no navigation to switch in; the state is set regardless.
        st.rerun()
