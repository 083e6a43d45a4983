"""Data access for closing the loop between QA and the clinician: supersessions and the flags on outputs.

Every value is bound as a parameter. A supersession is permanent (triggers forbid update and delete); the
superseded output itself is never touched.
"""

from __future__ import annotations

from core.storage.db import Store, utcnow
from core.storage.review import _decode_flag, _rows


def insert_supersession(store: Store, analysis_id: int, user_id: int, reason: str) -> None:
    store.db.execute(
        "INSERT INTO supersessions (analysis_id, reason, user_id, created_at) VALUES (?, ?, ?, ?)",
        [analysis_id, reason, user_id, utcnow()],
    )


def supersessions(store: Store, analysis_ids: list[int]) -> dict[int, dict]:
    """analysis id -> {reason, username, created_at} for those of ``analysis_ids`` that were superseded."""
    if not analysis_ids:
        return {}
    marks = ",".join("?" for _ in analysis_ids)
    rows = _rows(store, f"""SELECT s.analysis_id, s.reason, s.created_at, u.username FROM supersessions s
                            JOIN users u ON u.id = s.user_id WHERE s.analysis_id IN ({marks})""", analysis_ids)
    return {r["analysis_id"]: r for r in rows}


def flags_on(store: Store, analysis_ids: list[int]) -> list[dict]:
    """QA flags (decision 'flag') on these outputs with the reviewer's name and the review item's state."""
    if not analysis_ids:
        return []
    marks = ",".join("?" for _ in analysis_ids)
    rows = _rows(
        store,
        f"""SELECT f.id, f.analysis_id, f.round, f.reason, f.severity, f.comment, f.corrected_label,
                   f.corrected_scores, f.corrected_rationale, f.created_at, u.username AS reviewer,
                   r.status AS item_status, r.round AS item_round
            FROM flags f JOIN users u ON u.id = f.reviewer_id
            LEFT JOIN review_items r ON r.analysis_id = f.analysis_id
            WHERE f.decision = 'flag' AND f.analysis_id IN ({marks}) ORDER BY f.id""",
        analysis_ids,
    )
    return [_decode_flag(r) for r in rows]


def patients_with_current_flags(store: Store, patient_ids: list[int]) -> dict[int, int]:
    """patient id -> number of their outputs with a QA flag in the item's current round, not superseded."""
    if not patient_ids:
        return {}
    marks = ",".join("?" for _ in patient_ids)
    rows = store.db.execute(
        f"""SELECT v.patient_id, COUNT(DISTINCT a.id) FROM flags f
            JOIN analyses a ON a.id = f.analysis_id JOIN visits v ON v.id = a.visit_id
            JOIN review_items r ON r.analysis_id = f.analysis_id
            WHERE f.decision = 'flag' AND f.round = r.round AND v.patient_id IN ({marks})
              AND a.id NOT IN (SELECT analysis_id FROM supersessions)
            GROUP BY v.patient_id""",
        patient_ids,
    ).fetchall()
    return {r[0]: r[1] for r in rows}
