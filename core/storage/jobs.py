"""Data access for the background queue of language-model rationales (jobs and their (visit, task) items).

Every value is bound as a parameter. A job is claimed by one worker in one transaction (``claim_next``), so two
workers never run the same job. States: queued -> running -> done | cancelled | failed; a job left running by a
worker that died goes back to queued (or to failed after too many attempts) through ``requeue``.
"""

from __future__ import annotations

import json

from core.storage.db import Store, utcnow
from core.storage.db import query_one as _one
from core.storage.db import query_rows as _rows

ACTIVE = ("queued", "running")


def insert_job(store: Store, patient_id: int, user_id: int, tasks: list[str], items: list[tuple[int, str]]) -> int:
    """A queued job with one queued item per (visit id, task), in the given order."""
    cur = store.db.execute(
        "INSERT INTO rationale_jobs (patient_id, user_id, tasks, state, created_at) VALUES (?, ?, ?, 'queued', ?)",
        [patient_id, user_id, json.dumps(list(tasks)), utcnow()],
    )
    job_id = cur.lastrowid
    for visit_id, task in items:
        store.db.execute(
            "INSERT INTO rationale_job_items (job_id, visit_id, task, state) VALUES (?, ?, ?, 'queued')",
            [job_id, visit_id, task],
        )
    return job_id


def _decode(row: dict | None) -> dict | None:
    if row is not None:
        row["tasks"] = json.loads(row["tasks"])
        row["cancel_requested"] = bool(row["cancel_requested"])
    return row


def get_job(store: Store, job_id: int) -> dict | None:
    return _decode(_one(store, "SELECT * FROM rationale_jobs WHERE id = ?", [job_id]))


def jobs_for_patient(store: Store, patient_id: int, limit: int = 5) -> list[dict]:
    """The patient's jobs, active ones first, then the newest finished ones (``limit`` in all)."""
    rows = _rows(
        store,
        """SELECT j.*, u.username FROM rationale_jobs j LEFT JOIN users u ON u.id = j.user_id
           WHERE j.patient_id = ? ORDER BY (j.state IN ('queued', 'running')) DESC, j.id DESC LIMIT ?""",
        [patient_id, int(limit)],
    )
    return [_decode(r) for r in rows]


def active_jobs(store: Store, user_id: int | None = None) -> list[dict]:
    """Queued and running jobs (of one user, or everyone's), oldest first."""
    sql = "SELECT * FROM rationale_jobs WHERE state IN ('queued', 'running')"
    params: list = []
    if user_id is not None:
        sql += " AND user_id = ?"
        params.append(user_id)
    return [_decode(r) for r in _rows(store, sql + " ORDER BY id", params)]


def items_of(store: Store, job_ids: list[int]) -> list[dict]:
    """Items of these jobs with their visit's date, in queue order."""
    if not job_ids:
        return []
    marks = ",".join("?" for _ in job_ids)
    return _rows(
        store,
        f"""SELECT i.*, v.visit_date FROM rationale_job_items i JOIN visits v ON v.id = i.visit_id
            WHERE i.job_id IN ({marks}) ORDER BY i.job_id, i.id""",
        job_ids,
    )


def claim_next(store: Store, worker: str) -> dict | None:
    """Mark the oldest queued job running for ``worker`` and return it (None when the queue is empty)."""
    with store.tx():
        row = _one(store, "SELECT id FROM rationale_jobs WHERE state = 'queued' ORDER BY id LIMIT 1")
        if row is None:
            return None
        now = utcnow()
        store.db.execute(
            """UPDATE rationale_jobs SET state = 'running', worker = ?, heartbeat = ?, attempts = attempts + 1,
               started_at = COALESCE(started_at, ?) WHERE id = ? AND state = 'queued'""",
            [worker, now, now, row["id"]],
        )
    return get_job(store, row["id"])


def heartbeat(store: Store, job_id: int) -> None:
    store.db.execute("UPDATE rationale_jobs SET heartbeat = ? WHERE id = ?", [utcnow(), job_id])


def next_item(store: Store, job_id: int) -> dict | None:
    return _one(store, "SELECT * FROM rationale_job_items WHERE job_id = ? AND state = 'queued' ORDER BY id LIMIT 1",
                [job_id])


def start_item(store: Store, item_id: int) -> None:
    store.db.execute("UPDATE rationale_job_items SET state = 'running', started_at = ? WHERE id = ?",
                     [utcnow(), item_id])


def finish_item(store: Store, item_id: int, state: str, *, analysis_id: int | None = None, error: str = "") -> None:
    store.db.execute(
        "UPDATE rationale_job_items SET state = ?, analysis_id = ?, error = ?, finished_at = ? WHERE id = ?",
        [state, analysis_id, error[:500], utcnow(), item_id],
    )


def request_cancel(store: Store, job_id: int) -> None:
    store.db.execute("UPDATE rationale_jobs SET cancel_requested = 1 WHERE id = ? AND state IN ('queued', 'running')",
                     [job_id])


def cancel_requested(store: Store, job_id: int) -> bool:
    row = _one(store, "SELECT cancel_requested FROM rationale_jobs WHERE id = ?", [job_id])
    return bool(row and row["cancel_requested"])


def finish_job(store: Store, job_id: int, state: str, error: str = "") -> None:
    """End a job; its items still queued end in ``cancelled`` (cancelled or failed job) and keep what was stored."""
    now = utcnow()
    store.db.execute(
        "UPDATE rationale_job_items SET state = 'cancelled', finished_at = ? WHERE job_id = ? AND state = 'queued'",
        [now, job_id],
    )
    store.db.execute("UPDATE rationale_jobs SET state = ?, error = ?, finished_at = ? WHERE id = ?",
                     [state, error[:500], now, job_id])


def running_jobs(store: Store) -> list[dict]:
    return [_decode(r) for r in _rows(store, "SELECT * FROM rationale_jobs WHERE state = 'running' ORDER BY id")]


def requeue(store: Store, job_id: int) -> None:
    """A job whose worker died: its interrupted item and the job go back to the queue (nothing half-stored:
    an output is stored in one transaction or not at all)."""
    store.db.execute("UPDATE rationale_job_items SET state = 'queued', started_at = NULL "
                     "WHERE job_id = ? AND state = 'running'", [job_id])
    store.db.execute("UPDATE rationale_jobs SET state = 'queued', worker = '', heartbeat = NULL WHERE id = ?",
                     [job_id])


def fail_running_items(store: Store, job_id: int, error: str) -> None:
    store.db.execute("UPDATE rationale_job_items SET state = 'failed', error = ?, finished_at = ? "
                     "WHERE job_id = ? AND state = 'running'", [error[:500], utcnow(), job_id])
