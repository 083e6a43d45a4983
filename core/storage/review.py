"""Data access for the review queue: review_items, flags, adjudications and review_config.

Every value is bound as a parameter. Times are ISO-8601 UTC strings of one
format (``utcnow``), so comparing them as text compares them as times. The
caller passes "now" and the lock cut-off, so the rules about time live in
``core.review.items`` and tests can move the clock.
"""

from __future__ import annotations

import json

from core.storage.db import Store
from core.storage.records import _decode_analysis

REVIEWABLE_KINDS = ("heads", "llm")

# The status a reader sees: a lock older than the cut-off no longer holds the item.
_EFFECTIVE_STATUS = "CASE WHEN r.status = 'in_review' AND r.locked_at < :cutoff THEN 'open' ELSE r.status END"
_LIVE_LOCK = "CASE WHEN r.status = 'in_review' AND r.locked_at >= :cutoff THEN r.locked_by END"


def _rows(store: Store, sql: str, params=()) -> list[dict]:
    """Rows as dicts; ``params`` is a sequence or a mapping of named parameters."""
    cur = store.db.execute(sql, params if isinstance(params, dict) else list(params))
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _one(store: Store, sql: str, params=()) -> dict | None:
    rows = _rows(store, sql, params)
    return rows[0] if rows else None


def _decode_flag(row: dict) -> dict:
    if row.get("corrected_scores"):
        row["corrected_scores"] = json.loads(row["corrected_scores"])
    return row


# ---------------------------------------------------------------- items
def unqueued_analyses(store: Store) -> list[dict]:
    """Reviewable analyses that have no review item yet, with their visit text."""
    marks = ",".join("?" for _ in REVIEWABLE_KINDS)
    rows = _rows(
        store,
        f"""SELECT a.*, v.text AS visit_text FROM analyses a
            JOIN visits v ON v.id = a.visit_id
            LEFT JOIN review_items r ON r.analysis_id = a.id
            WHERE r.analysis_id IS NULL AND a.kind IN ({marks}) ORDER BY a.id""",
        REVIEWABLE_KINDS,
    )
    return [_decode_analysis(r) for r in rows]


def insert_items(store: Store, items: list[dict], now: str) -> None:
    """Each dict: analysis_id, priority, confidence, crisis, required_reviews."""
    with store.tx():
        for it in items:
            store.db.execute(
                "INSERT OR IGNORE INTO review_items (analysis_id, status, priority, required_reviews, confidence,"
                " crisis, updated_at) VALUES (?, 'open', ?, ?, ?, ?, ?)",
                [it["analysis_id"], it["priority"], it["required_reviews"], it["confidence"], int(it["crisis"]), now],
            )


def get_item(store: Store, analysis_id: int, cutoff: str) -> dict | None:
    return _one(
        store,
        f"""SELECT r.*, {_EFFECTIVE_STATUS} AS effective_status, {_LIVE_LOCK} AS live_lock,
                   lu.username AS locked_by_name, au.username AS assigned_to_name
            FROM review_items r
            LEFT JOIN users lu ON lu.id = r.locked_by
            LEFT JOIN users au ON au.id = r.assigned_to
            WHERE r.analysis_id = :id""",
        {"id": analysis_id, "cutoff": cutoff},
    )


def list_queue(store: Store, *, cutoff: str, reviewer_id: int, statuses=(), tasks=(), model_versions=(),
               date_from: str | None = None, date_to: str | None = None, flagged: bool | None = None,
               mine: bool = False, limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    """One page of the queue, highest priority first, plus the number of matching items."""
    where, params = [], {"cutoff": cutoff, "me": reviewer_id}

    def _in(column: str, values, prefix: str) -> None:
        names = []
        for i, v in enumerate(values):
            params[f"{prefix}{i}"] = v
            names.append(f":{prefix}{i}")
        where.append(f"{column} IN ({','.join(names)})")

    if statuses:
        _in("q.status", statuses, "st")
    if tasks:
        _in("q.task", tasks, "tk")
    if model_versions:
        _in("q.model_version", model_versions, "mv")
    if date_from:
        where.append("substr(q.created_at, 1, 10) >= :dfrom")
        params["dfrom"] = date_from
    if date_to:
        where.append("substr(q.created_at, 1, 10) <= :dto")
        params["dto"] = date_to
    if flagged is True:
        where.append("q.flag_count > 0")
    elif flagged is False:
        where.append("q.flag_count = 0")
    if mine:
        where.append("(q.assigned_to = :me OR q.live_lock = :me)")
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    inner = f"""SELECT r.analysis_id, {_EFFECTIVE_STATUS} AS status, r.priority, r.required_reviews, r.round,
                       r.confidence, r.crisis, r.assigned_to, {_LIVE_LOCK} AS live_lock, r.locked_at,
                       a.kind, a.task, a.model_id, a.model_version, a.prompt_version, a.status AS signoff,
                       a.created_at, a.outputs, a.visit_id, v.visit_date,
                       (SELECT COUNT(*) FROM flags f WHERE f.analysis_id = r.analysis_id
                          AND f.decision = 'flag') AS flag_count,
                       (SELECT COUNT(DISTINCT f.reviewer_id) FROM flags f WHERE f.analysis_id = r.analysis_id
                          AND f.round = r.round AND f.decision != 'skip') AS reviews_done,
                       (SELECT f.decision FROM flags f WHERE f.analysis_id = r.analysis_id AND f.round = r.round
                          AND f.reviewer_id = :me ORDER BY f.id DESC LIMIT 1) AS my_decision,
                       lu.username AS locked_by_name, au.username AS assigned_to_name
                FROM review_items r
                JOIN analyses a ON a.id = r.analysis_id
                JOIN visits v ON v.id = a.visit_id
                LEFT JOIN users lu ON lu.id = r.locked_by
                LEFT JOIN users au ON au.id = r.assigned_to"""
    total = store.db.execute(f"SELECT COUNT(*) FROM ({inner}) q {clause}", params).fetchone()[0]
    params.update(limit=int(limit), offset=int(offset))
    rows = _rows(
        store,
        f"SELECT * FROM ({inner}) q {clause} ORDER BY q.priority DESC, q.created_at, q.analysis_id"
        " LIMIT :limit OFFSET :offset",
        params,
    )
    return [_decode_analysis(r) for r in rows], total


def queue_facets(store: Store) -> dict[str, list[str]]:
    """Distinct tasks and model versions present in the queue (for filter choices)."""
    tasks = [r[0] for r in store.db.execute(
        "SELECT DISTINCT a.task FROM review_items r JOIN analyses a ON a.id = r.analysis_id ORDER BY 1")]
    versions = [r[0] for r in store.db.execute(
        "SELECT DISTINCT a.model_version FROM review_items r JOIN analyses a ON a.id = r.analysis_id ORDER BY 1")]
    return {"tasks": tasks, "model_versions": versions}


def try_lock(store: Store, analysis_id: int, user_id: int, now: str, cutoff: str) -> bool:
    """Take the item's lock if it is free, expired or already ours; True when we hold it now.

    One conditional UPDATE inside the caller's BEGIN IMMEDIATE transaction: of two
    reviewers racing, the second sees the first one's lock and changes nothing.
    """
    cur = store.db.execute(
        """UPDATE review_items SET locked_by = :me, locked_at = :now, status = 'in_review', updated_at = :now
           WHERE analysis_id = :id AND status != 'resolved'
             AND (locked_by IS NULL OR locked_by = :me OR status != 'in_review' OR locked_at < :cutoff)""",
        {"me": user_id, "now": now, "id": analysis_id, "cutoff": cutoff},
    )
    return cur.rowcount == 1


def next_free_item(store: Store, user_id: int, cutoff: str, tasks=()) -> int | None:
    """The highest-priority unresolved item that is not locked by someone else and not yet decided by us."""
    params = {"me": user_id, "cutoff": cutoff}
    extra = ""
    if tasks:
        names = []
        for i, t in enumerate(tasks):
            params[f"t{i}"] = t
            names.append(f":t{i}")
        extra = f" AND a.task IN ({','.join(names)})"
    row = store.db.execute(
        f"""SELECT r.analysis_id FROM review_items r JOIN analyses a ON a.id = r.analysis_id
            WHERE r.status != 'resolved'
              AND (r.locked_by IS NULL OR r.locked_by = :me OR r.status != 'in_review' OR r.locked_at < :cutoff)
              AND (r.assigned_to IS NULL OR r.assigned_to = :me)
              AND NOT EXISTS (SELECT 1 FROM flags f WHERE f.analysis_id = r.analysis_id AND f.round = r.round
                              AND f.reviewer_id = :me)
              {extra}
            ORDER BY (r.assigned_to = :me) DESC, r.priority DESC, a.created_at, r.analysis_id LIMIT 1""",
        params,
    ).fetchone()
    return row[0] if row else None


def set_item(store: Store, analysis_id: int, now: str, *, status: str | None = None, unlock: bool = False,
             round: int | None = None, assigned_to: int | None | type(...) = ...,
             required_reviews: int | None = None) -> None:
    sets, params = ["updated_at = ?"], [now]
    if status is not None:
        sets.append("status = ?")
        params.append(status)
    if unlock:
        sets.append("locked_by = NULL, locked_at = NULL")
    if round is not None:
        sets.append("round = ?")
        params.append(round)
    if assigned_to is not ...:
        sets.append("assigned_to = ?")
        params.append(assigned_to)
    if required_reviews is not None:
        sets.append("required_reviews = ?")
        params.append(required_reviews)
    with store.tx():
        store.db.execute(f"UPDATE review_items SET {', '.join(sets)} WHERE analysis_id = ?", [*params, analysis_id])


def set_required_reviews_open(store: Store, n: int, now: str) -> int:
    with store.tx():
        cur = store.db.execute(
            "UPDATE review_items SET required_reviews = ?, updated_at = ? WHERE status != 'resolved'", [n, now])
    return cur.rowcount


# ---------------------------------------------------------------- flags (decisions)
def insert_flag(store: Store, *, analysis_id: int, reviewer_id: int, decision: str, round: int, reason=None,
                severity=None, comment: str = "", corrected_label=None, corrected_scores=None,
                corrected_rationale=None, now: str) -> int:
    with store.tx():
        cur = store.db.execute(
            "INSERT INTO flags (analysis_id, reviewer_id, decision, reason, severity, comment, corrected_label,"
            " corrected_scores, corrected_rationale, created_at, round) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [analysis_id, reviewer_id, decision, reason, severity, comment, corrected_label,
             json.dumps(corrected_scores) if corrected_scores else None, corrected_rationale, now, round],
        )
    return cur.lastrowid


def item_decisions(store: Store, analysis_id: int, round: int | None = None) -> list[dict]:
    sql = ("SELECT f.*, u.username FROM flags f JOIN users u ON u.id = f.reviewer_id WHERE f.analysis_id = ?")
    params: list = [analysis_id]
    if round is not None:
        sql += " AND f.round = ?"
        params.append(round)
    return [_decode_flag(r) for r in _rows(store, sql + " ORDER BY f.id", params)]


def current_round_decisions(store: Store) -> list[dict]:
    """Every approve/flag decision of every item's current round, with the item's task and outputs."""
    rows = _rows(
        store,
        """SELECT f.*, u.username, a.kind, a.task, a.model_version, a.outputs, r.status AS item_status,
                  r.round AS item_round, r.required_reviews
           FROM flags f
           JOIN review_items r ON r.analysis_id = f.analysis_id AND r.round = f.round
           JOIN analyses a ON a.id = f.analysis_id
           JOIN users u ON u.id = f.reviewer_id
           WHERE f.decision != 'skip'
           ORDER BY f.analysis_id, f.id""",
    )
    return [_decode_flag(_decode_analysis(r)) for r in rows]


def export_flags(store: Store, *, decisions=("flag",), date_from: str | None = None,
                 date_to: str | None = None) -> list[dict]:
    """Decisions with their analysis facts, for the flags export (no visit text)."""
    names = ",".join("?" for _ in decisions)
    where, params = [f"f.decision IN ({names})"], list(decisions)
    if date_from:
        where.append("substr(f.created_at, 1, 10) >= ?")
        params.append(date_from)
    if date_to:
        where.append("substr(f.created_at, 1, 10) <= ?")
        params.append(date_to)
    rows = _rows(
        store,
        f"""SELECT f.id AS flag_id, f.analysis_id, f.round, f.decision, f.reason, f.severity, f.comment,
                   f.corrected_label, f.corrected_scores, f.corrected_rationale, f.created_at,
                   u.username AS reviewer, a.kind, a.task, a.model_id, a.model_version, a.prompt_version,
                   a.status AS signoff, a.outputs, a.visit_id
            FROM flags f JOIN analyses a ON a.id = f.analysis_id JOIN users u ON u.id = f.reviewer_id
            WHERE {' AND '.join(where)} ORDER BY f.id""",
        params,
    )
    return [_decode_flag(_decode_analysis(r)) for r in rows]


def resolved_items(store: Store) -> list[dict]:
    """Resolved items with analysis outputs and the real visit text (training export only)."""
    rows = _rows(
        store,
        """SELECT r.analysis_id, r.round, a.kind, a.task, a.outputs, a.model_version, v.text AS visit_text
           FROM review_items r JOIN analyses a ON a.id = r.analysis_id JOIN visits v ON v.id = a.visit_id
           WHERE r.status = 'resolved' ORDER BY r.analysis_id""",
    )
    return [_decode_analysis(r) for r in rows]


# ---------------------------------------------------------------- adjudications
def insert_adjudication(store: Store, *, analysis_id: int, round: int, adjudicator_id: int, decision: str,
                        reason=None, severity=None, comment: str = "", corrected_label=None,
                        corrected_scores=None, corrected_rationale=None, now: str) -> int:
    with store.tx():
        cur = store.db.execute(
            "INSERT INTO adjudications (analysis_id, round, adjudicator_id, decision, reason, severity, comment,"
            " corrected_label, corrected_scores, corrected_rationale, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [analysis_id, round, adjudicator_id, decision, reason, severity, comment, corrected_label,
             json.dumps(corrected_scores) if corrected_scores else None, corrected_rationale, now],
        )
    return cur.lastrowid


def get_adjudication(store: Store, analysis_id: int, round: int) -> dict | None:
    row = _one(store, "SELECT * FROM adjudications WHERE analysis_id = ? AND round = ?", [analysis_id, round])
    return _decode_flag(row) if row else None


def adjudicated_keys(store: Store) -> set[tuple[int, int]]:
    return {(r[0], r[1]) for r in store.db.execute("SELECT analysis_id, round FROM adjudications")}


# ---------------------------------------------------------------- quality
def quality_rows(store: Store) -> list[dict]:
    """Every decision with the analysis' model version, task and sign-off state (no text)."""
    return _rows(
        store,
        """SELECT f.id, f.analysis_id, f.decision, f.reason, f.severity, f.created_at, f.round,
                  u.username AS reviewer, a.kind, a.task, a.model_version, a.status AS signoff, a.signed_at
           FROM flags f JOIN analyses a ON a.id = f.analysis_id JOIN users u ON u.id = f.reviewer_id
           ORDER BY f.id""",
    )


def item_counts_by_reviewer(store: Store, cutoff: str) -> list[dict]:
    return _rows(
        store,
        f"""SELECT u.username,
                   SUM(CASE WHEN r.assigned_to = u.id AND r.status != 'resolved' THEN 1 ELSE 0 END) AS assigned_open,
                   SUM(CASE WHEN {_LIVE_LOCK} = u.id THEN 1 ELSE 0 END) AS locked_now
            FROM users u JOIN review_items r ON r.assigned_to = u.id OR r.locked_by = u.id
            GROUP BY u.username""",
        {"cutoff": cutoff},
    )


def status_counts(store: Store, cutoff: str) -> dict[str, int]:
    cur = store.db.execute(
        f"SELECT {_EFFECTIVE_STATUS} AS s, COUNT(*) FROM review_items r GROUP BY s", {"cutoff": cutoff})
    return {r[0]: r[1] for r in cur.fetchall()}


# ---------------------------------------------------------------- config
def get_config(store: Store, key: str) -> str | None:
    row = store.db.execute("SELECT value FROM review_config WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def set_config(store: Store, key: str, value: str, user_id: int | None, now: str) -> None:
    with store.tx():
        store.db.execute(
            "INSERT INTO review_config (key, value, updated_by, updated_at) VALUES (?,?,?,?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by,"
            " updated_at = excluded.updated_at",
            [key, value, user_id, now],
        )
