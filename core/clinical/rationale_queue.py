"""The background queue of language-model rationales: what "Analyse" leaves to run after its fast part.

A job is one request (a patient, the chosen tasks, who asked); it holds one item per (visit, task). Jobs live in
the database (``core.storage.jobs``), so the queue survives a page change, a closed browser tab and a restarted
server. One worker per server process (``core.clinical.rationale_worker``) runs one job at a time through
``analysis.run_llm_task``, the path of a foreground run: every rationale is stored, audited (``model.run``) and
provenance-recorded exactly as if the person had pressed *Run*, under that person's name and access rights,
checked again when the job runs.

Cancelling takes effect between items (between visits and between tasks): what is stored stays stored. A job
left running by a worker that died is found when a worker starts (``recover``): it goes back to the queue, or,
after ``MAX_ATTEMPTS`` starts, ends as failed with the reason recorded; it is never dropped silently.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from core.clinical import analysis
from core.clinical.access import patient_for, require_consent
from core.context import Context
from core.errors import (
    AuthError,
    ConsentRequired,
    CoreError,
    JobNotFound,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from core.llm.tasks import TASKS
from core.security.auth import User
from core.storage import Store, jobs, records
from core.storage import accounts as accounts_db
from core.storage.audit import append_event

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3          # starts of one job before a worker that keeps dying on it gives up on it
STALE_SECONDS = 30 * 60   # a running job on another host whose worker has not reported for this long is taken as dead
ACTIVE = jobs.ACTIVE
# Errors that end a whole job: the person may no longer run models on this patient (access, consent, account).
_STOPS_JOB = (PermissionDenied, ConsentRequired, AuthError, NotFound)

# One generation at a time in this process: two would only share the same CPU cores, and a tokenizer must not be
# used from two threads at once. The worker and a foreground (streamed) run both take it.
generation_lock = threading.Lock()


@dataclass
class Models:
    """What a rationale needs: the language model, and (optional) the encoder, task heads and sentence embedder."""
    llm: object
    encoder: object = None
    task_heads: object = None
    embedder: object = None


def queueable_tasks() -> list[str]:
    """Tasks answered per visit (the symptom progression spans visits and is run on the Trajectories tab)."""
    return [name for name in TASKS if name != "progression"]


def worker_id() -> str:
    """Names a worker: host, process id and a random part (two workers in one process differ)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# ----------------------------------------------------------------------------------------------- requests
def enqueue(ctx: Context, patient_id: int, visit_ids: list[int], tasks: list[str] | tuple[str, ...]) -> int:
    """Queue the rationales of ``tasks`` on these visits of one patient; returns the job id.

    The same checks as running them now: the right to run analyses, write access to the patient, consent.
    Items already waiting in an active job of this patient are not queued twice."""
    ctx.require("analyses.run")
    patient = patient_for(ctx, patient_id, write=True)
    require_consent(patient)
    allowed = queueable_tasks()
    tasks = list(dict.fromkeys(tasks))
    unknown = [t for t in tasks if t not in allowed]
    if unknown:
        raise ValidationError(f"Unknown or non-queueable task(s): {', '.join(map(str, unknown))}.")
    if not tasks:
        raise ValidationError("Choose at least one language-model question to queue.")
    visits = {v["id"]: v for v in records.list_visits(ctx.store, patient_id)}
    visit_ids = list(dict.fromkeys(visit_ids))
    foreign = [v for v in visit_ids if v not in visits]
    if foreign:
        raise ValidationError("A visit to queue does not belong to this patient.")
    if not visit_ids:
        raise ValidationError("There is no visit to queue.")
    with ctx.store.tx():
        waiting = {(i["visit_id"], i["task"]) for i in
                   jobs.items_of(ctx.store, [j["id"] for j in jobs.jobs_for_patient(ctx.store, patient_id, 1000)
                                             if j["state"] in ACTIVE]) if i["state"] in ACTIVE}
        # Newest visit first: the one a clinician reads first gets its rationale first.
        order = sorted(visit_ids, key=lambda v: (visits[v]["visit_date"], v), reverse=True)
        items = [(v, t) for v in order for t in tasks if (v, t) not in waiting]
        if not items:
            raise ValidationError("These rationales are already queued; their progress is shown on the patient.")
        job_id = jobs.insert_job(ctx.store, patient_id, ctx.user.id, tasks, items)
        ctx.audit("rationale.enqueue", "patient", patient_id, job_id=job_id, tasks=tasks,
                  visits=sorted({v for v, _ in items}), items=len(items))
    return job_id


def _job_for(ctx: Context, job_id: int) -> dict:
    job = jobs.get_job(ctx.store, job_id)
    if job is None:
        raise JobNotFound(f"No background job with id {job_id}.")
    return job


def cancel(ctx: Context, job_id: int) -> dict:
    """Cancel a job: a queued one at once, a running one before its next item (stored results stay)."""
    ctx.require("analyses.run")
    job = _job_for(ctx, job_id)
    patient_for(ctx, job["patient_id"], write=True)
    with ctx.store.tx():
        job = _job_for(ctx, job_id)  # re-read under the write lock: the worker may have claimed or ended it
        if job["state"] not in ACTIVE:
            raise ValidationError(f"This job has already ended ({job['state']}).")
        if job["state"] == "queued":
            jobs.finish_job(ctx.store, job_id, "cancelled", f"Cancelled by {ctx.user.username} before it started.")
        else:
            jobs.request_cancel(ctx.store, job_id)
        ctx.audit("rationale.cancel", "patient", job["patient_id"], job_id=job_id, state_before=job["state"])
    return _job_for(ctx, job_id)


def _summarise(job: dict, items: list[dict]) -> dict:
    visits: dict[int, dict] = {}
    for i in items:
        v = visits.setdefault(i["visit_id"], {"visit_id": i["visit_id"], "visit_date": i["visit_date"], "total": 0,
                                               "done": 0, "failed": 0, "cancelled": 0, "running": None,
                                               "errors": []})
        v["total"] += 1
        if i["state"] in ("done", "failed", "cancelled"):
            v[i["state"]] += 1
        if i["state"] == "running":
            v["running"] = i["task"]
        if i["error"]:
            v["errors"].append(f"{i['task']}: {i['error']}")
    for v in visits.values():
        v["finished"] = v["done"] + v["failed"] + v["cancelled"]
        v["state"] = ("running" if v["running"] else "queued" if v["finished"] < v["total"]
                      else "failed" if v["failed"] else "cancelled" if v["cancelled"] else "done")
    out = {k: job[k] for k in ("id", "patient_id", "state", "tasks", "cancel_requested", "error", "created_at",
                               "started_at", "finished_at", "attempts")}
    out.update(username=job.get("username") or "", visits=list(visits.values()), total=len(items),
               done=sum(v["done"] for v in visits.values()), failed=sum(v["failed"] for v in visits.values()),
               cancelled=sum(v["cancelled"] for v in visits.values()), active=job["state"] in ACTIVE)
    out["finished"] = out["done"] + out["failed"] + out["cancelled"]
    return out


def status(ctx: Context, patient_id: int, limit: int = 5) -> list[dict]:
    """The patient's background jobs (active first, then the newest ended ones), each with progress per visit.

    Readable by whoever may read the patient. No note text is read, so the (frequent) polling is not audited."""
    patient_for(ctx, patient_id)
    rows = jobs.jobs_for_patient(ctx.store, patient_id, limit)
    items = jobs.items_of(ctx.store, [j["id"] for j in rows])
    return [_summarise(j, [i for i in items if i["job_id"] == j["id"]]) for j in rows]


def my_active(ctx: Context) -> list[dict]:
    """The caller's queued and running jobs in this database, with the patient's pseudonym and progress."""
    if ctx.user is None or not ctx.user.can("analyses.run"):
        return []
    rows = jobs.active_jobs(ctx.store, ctx.user.id)
    items = jobs.items_of(ctx.store, [j["id"] for j in rows])
    out = []
    for j in rows:
        s = _summarise(j, [i for i in items if i["job_id"] == j["id"]])
        s["pseudonym"] = records.get_patient(ctx.store, j["patient_id"])["pseudonym"]
        out.append(s)
    return out


# ------------------------------------------------------------------------------------------------ worker side
def _system_event(store: Store, action: str, job: dict, **details) -> None:
    append_event(store, user_id=None, username="system", action=action, entity="patient",
                 entity_id=job["patient_id"], details={"job_id": job["id"], **details})


def _worker_dead(worker: str, heartbeat: str | None, now: datetime) -> bool:
    """Whether the worker named ``worker`` has stopped: on this host, its process is gone; elsewhere, it has not
    reported for ``STALE_SECONDS``."""
    host, _, rest = worker.partition(":")
    pid = rest.partition(":")[0]
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # alive, someone else's process
        return False
    if not heartbeat:
        return True
    return (now - datetime.fromisoformat(heartbeat)).total_seconds() > STALE_SECONDS


def recover(store: Store, me: str, *, now: datetime | None = None) -> list[tuple[int, str]]:
    """Jobs left running by a worker that has stopped: back to the queue, or failed after ``MAX_ATTEMPTS`` starts.
    Returns (job id, "requeued" | "failed"); each is recorded in the audit trail."""
    now = now or datetime.now(UTC)
    done = []
    for job in jobs.running_jobs(store):
        if job["worker"] == me or not _worker_dead(job["worker"], job["heartbeat"], now):
            continue
        with store.tx():
            if job["attempts"] >= MAX_ATTEMPTS:
                reason = (f"The background worker stopped {job['attempts']} times while running this job (the server "
                          "was restarted or the process was killed); it was not started again. Queue it again to "
                          "retry.")
                jobs.fail_running_items(store, job["id"], "interrupted: the background worker stopped")
                jobs.finish_job(store, job["id"], "failed", reason)
                _system_event(store, "rationale.failed", job, reason=reason, worker=job["worker"])
                done.append((job["id"], "failed"))
            else:
                jobs.requeue(store, job["id"])
                _system_event(store, "rationale.requeued", job, worker=job["worker"], attempts=job["attempts"])
                done.append((job["id"], "requeued"))
    return done


def _job_context(settings, store: Store, accounts: Store, user_id: int, demo: bool) -> Context:
    """The Context of the person who queued the job, as their account stands now (the clinical database holds
    the accounts, also for a demo job)."""
    row = accounts_db.get_user(accounts, user_id)
    if row is None or not row["active"]:
        raise PermissionDenied("The account that queued this job is no longer active.")
    user = User(id=row["id"], username=row["username"], display_name=row["display_name"], role=row["role"],
                must_change_password=bool(row.get("must_change_password")))
    return Context(settings=settings, store=store, user=user, demo=demo)


def run_job(store: Store, job: dict, models: Callable[[], Models], *, settings, accounts: Store | None = None,
            demo: bool = False, stopping: Callable[[], bool] | None = None) -> str:
    """Run one claimed job to its end; returns its final state ("done", "cancelled" or "failed"), or "queued"
    when ``stopping()`` turned true (the worker is shutting down: the rest waits in the queue).

    ``models`` is called once, when the first item needs them (it may wait for the language model to finish
    warming up). A failure of one item (the model failed on one note) is recorded on that item and the job goes
    on; losing the right to run it (access, consent, account) ends the job."""
    job_id = job["id"]
    try:
        ctx = _job_context(settings, store, accounts or store, job["user_id"], demo)
        ctx.audit("rationale.start", "patient", job["patient_id"], job_id=job_id, attempt=job["attempts"])
    except _STOPS_JOB as exc:
        with store.tx():
            jobs.finish_job(store, job_id, "failed", str(exc))
            _system_event(store, "rationale.failed", job, reason=str(exc))
        return "failed"
    loaded: Models | None = None
    while True:
        if jobs.cancel_requested(store, job_id):
            return _end(ctx, job, "cancelled", "Cancelled; the rationales already written are kept.")
        if stopping is not None and stopping():
            with store.tx():
                jobs.requeue(store, job_id)
                ctx.audit("rationale.paused", "patient", job["patient_id"], job_id=job_id)
            return "queued"
        item = jobs.next_item(store, job_id)
        if item is None:
            return _end(ctx, job, "done")
        jobs.start_item(store, item["id"])
        jobs.heartbeat(store, job_id)
        try:
            if loaded is None:
                loaded = models()
            with generation_lock:
                row = analysis.run_llm_task(ctx, item["visit_id"], item["task"], loaded.llm, embedder=loaded.embedder,
                                            task_heads=loaded.task_heads,
                                            encoder=loaded.encoder if loaded.task_heads is not None else None)
        except _STOPS_JOB as exc:
            jobs.finish_item(store, item["id"], "failed", error=str(exc))
            return _end(ctx, job, "failed", str(exc))
        except CoreError as exc:  # this note, or the model being unavailable
            jobs.finish_item(store, item["id"], "failed", error=str(exc))
            if loaded is None:  # the models could not be loaded: no later item can run either
                return _end(ctx, job, "failed", str(exc))
            continue
        except Exception as exc:  # a library bug must not stop the worker: recorded on the item, job goes on
            log.exception("background rationale failed (job %s, item %s)", job_id, item["id"])
            jobs.finish_item(store, item["id"], "failed", error=f"Unexpected error: {type(exc).__name__}")
            continue
        jobs.finish_item(store, item["id"], "done", analysis_id=row["id"])


def _end(ctx: Context, job: dict, state: str, error: str = "") -> str:
    with ctx.store.tx():
        jobs.finish_job(ctx.store, job["id"], state, error)
        ctx.audit("rationale.end", "patient", job["patient_id"], job_id=job["id"], state=state, error=error)
    return state


def run_next(store: Store, me: str, models: Callable[[], Models], *, settings, accounts: Store | None = None,
             demo: bool = False, stopping: Callable[[], bool] | None = None) -> int | None:
    """Claim the oldest queued job of ``store`` and run it to its end; returns its id (None: queue empty)."""
    job = jobs.claim_next(store, me)
    if job is None:
        return None
    run_job(store, job, models, settings=settings, accounts=accounts, demo=demo, stopping=stopping)
    return job["id"]
