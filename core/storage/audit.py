"""The append-only, hash-chained audit trail.

Each event's hash covers the previous event's hash and the event's own fields,
so changing or removing any past row breaks every hash after it. The database
refuses UPDATE and DELETE on the table (triggers), and ``verify_chain`` finds
rows edited behind its back (for instance with the triggers dropped).
"""

from __future__ import annotations

import hashlib
import json

from core.storage.db import Store, utcnow

GENESIS = "0" * 64


def _digest(prev_hash: str, ts: str, user_id, username: str, action: str, entity: str, entity_id: str,
            details: str) -> str:
    payload = json.dumps([prev_hash, ts, user_id, username, action, entity, entity_id, details],
                         ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def append_event(store: Store, *, user_id: int | None, username: str, action: str, entity: str = "",
                 entity_id="", details: dict | None = None) -> int:
    """Append one event. Joins the caller's transaction when there is one."""
    details_json = json.dumps(details or {}, ensure_ascii=False, sort_keys=True, default=str)
    entity_id = str(entity_id)
    with store.tx():
        row = store.db.execute("SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1").fetchone()
        prev = row[0] if row else GENESIS
        ts = utcnow()
        digest = _digest(prev, ts, user_id, username, action, entity, entity_id, details_json)
        cur = store.db.execute(
            "INSERT INTO audit_events (ts, user_id, username, action, entity, entity_id, details, prev_hash, hash)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            [ts, user_id, username, action, entity, entity_id, details_json, prev, digest],
        )
    return cur.lastrowid


def list_events(store: Store, *, action: str = "", username: str = "", entity: str = "", limit: int = 200,
                offset: int = 0) -> list[dict]:
    where, params = [], []
    for col, val in (("action", action), ("username", username), ("entity", entity)):
        if val:
            where.append(f"{col} = ?")
            params.append(val)
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    cur = store.db.execute(
        f"SELECT * FROM audit_events {clause} ORDER BY id DESC LIMIT ? OFFSET ?", [*params, limit, offset]
    )
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def verify_chain(store: Store) -> tuple[bool, int | None, int]:
    """Return (ok, id of the first bad event or None, events checked)."""
    prev = GENESIS
    checked = 0
    cur = store.db.execute(
        "SELECT id, ts, user_id, username, action, entity, entity_id, details, prev_hash, hash"
        " FROM audit_events ORDER BY id"
    )
    for row in cur:
        eid, ts, uid, uname, action, entity, entity_id, details, prev_hash, digest = row
        checked += 1
        if prev_hash != prev or _digest(prev, ts, uid, uname, action, entity, entity_id, details) != digest:
            return False, eid, checked
        prev = digest
    return True, None, checked
