"""SQL for resetting the demo database."""

from __future__ import annotations

from core.errors import ValidationError
from core.storage.db import Store, utcnow

_TABLES = ["rationale_job_items", "rationale_jobs", "flags", "review_items", "crisis_acks", "visit_crisis", "analyses",
           "visit_indicators", "visits", "patients",
           "model_cache", "prediction_log"]


def wipe_demo(store: Store) -> None:
    with store.tx():
        non_demo = store.db.execute("SELECT COUNT(*) FROM patients WHERE pseudonym NOT LIKE 'DEMO-%'").fetchone()[0]
        if non_demo:
            raise ValidationError("This database holds non-demo patients; refusing to reset it.")
        # Signed demo outputs are immutable by trigger; lift it for the demo reset only.
        store.db.execute("DROP TRIGGER IF EXISTS analyses_signed_undeletable")
        for table in _TABLES:
            store.db.execute(f"DELETE FROM {table}")  # table names from the fixed list above
        store.db.execute(
            """CREATE TRIGGER analyses_signed_undeletable BEFORE DELETE ON analyses
               WHEN OLD.status = 'signed'
               BEGIN SELECT RAISE(ABORT, 'signed analysis is immutable'); END"""
        )


def mirror_user(store: Store, user_id: int, username: str, display_name: str, role: str) -> None:
    with store.tx():
        store.db.execute(
            "INSERT OR IGNORE INTO users (id, username, display_name, role, password_hash, active, created_at)"
            " VALUES (?,?,?,?,'!demo-mirror',0,?)",
            [user_id, username, display_name, role, utcnow()],
        )
