"""Stored psycholinguistic indicators: one row per (visit, indicators version), written when the visit is saved."""

from __future__ import annotations

import json

from core.storage.db import Store, utcnow


def put(store: Store, visit_id: int, version: str, outputs: dict, duration_ms: float = 0.0) -> None:
    """Store (or replace) the indicators of one visit for one version; joins an open transaction."""
    with store.tx():
        store.db.execute(
            "INSERT OR REPLACE INTO visit_indicators (visit_id, version, outputs, duration_ms, created_at)"
            " VALUES (?,?,?,?,?)",
            [visit_id, version, json.dumps(outputs, ensure_ascii=False), float(duration_ms), utcnow()],
        )


def get_many(store: Store, visit_ids: list[int], version: str) -> dict[int, dict]:
    """{visit id: outputs} of the visits that have indicators of ``version``."""
    if not visit_ids:
        return {}
    marks = ",".join("?" for _ in visit_ids)
    cur = store.db.execute(
        f"SELECT visit_id, outputs FROM visit_indicators WHERE version = ? AND visit_id IN ({marks})",
        [version, *visit_ids],
    )
    return {row[0]: json.loads(row[1]) for row in cur.fetchall()}


def missing(store: Store, version: str, limit: int = 500) -> list[dict]:
    """Visits (id, text) without indicators of ``version``, oldest first (for the backfill)."""
    cur = store.db.execute(
        "SELECT v.id, v.text FROM visits v WHERE NOT EXISTS (SELECT 1 FROM visit_indicators i"
        " WHERE i.visit_id = v.id AND i.version = ?) ORDER BY v.id LIMIT ?",
        [version, int(limit)],
    )
    return [{"id": r[0], "text": r[1]} for r in cur.fetchall()]


def count(store: Store, version: str | None = None) -> int:
    if version is None:
        return store.db.execute("SELECT COUNT(*) FROM visit_indicators").fetchone()[0]
    return store.db.execute("SELECT COUNT(*) FROM visit_indicators WHERE version = ?", [version]).fetchone()[0]
