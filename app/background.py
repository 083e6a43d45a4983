"""Background work of the dashboard process: the language model's warm-up and the rationale worker (one of each
per server process), and what the pages show of them.

``start()`` runs on every script run of the entry page (idempotent: cached resources). The worker drains the
rationale queue of the clinical and the demo database; pages only read the queue (``rationale_queue.status``), so
progress is the same on every page, in every tab, after a page change or a reload.
"""

from __future__ import annotations

import logging
import threading

import streamlit as st

from app.state import demo_store, main_store, settings
from core.clinical import rationale_queue
from core.clinical.rationale_queue import Models
from core.clinical.rationale_worker import RationaleWorker
from core.errors import CoreError, ModelUnavailable
from core.serving import warmup

REFRESH_SECONDS = 2.0
# Our own background threads run outside any browser session by design; when they call Streamlit's cached loaders,
# Streamlit warns "missing ScriptRunContext" for each. That one warning is dropped for these threads only.
OWN_THREADS = ("warmup-", "rationale-worker")


class _OwnThreadsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (threading.current_thread().name.startswith(OWN_THREADS)
                    and "missing ScriptRunContext" in record.getMessage())


_CONTEXT_LOGGER = logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context")
if not any(isinstance(f, _OwnThreadsFilter) for f in _CONTEXT_LOGGER.filters):
    _CONTEXT_LOGGER.addFilter(_OwnThreadsFilter())
_FINISHED = "_background_finished"  # session key: the message that background jobs have ended


@st.cache_resource(show_spinner=False)
def llm_warmup() -> warmup.Warmup:
    """The process's language-model loader (started by ``start``, or on first use)."""
    return warmup.llm_warmup(settings())


def _models() -> Models:
    """The models a background rationale needs, called in the worker thread: it waits for the warm-up."""
    from app import resources

    llm = llm_warmup().wait()
    encoder = resources._encoder()
    try:
        heads = resources._task_heads()
    except ModelUnavailable:
        heads = None  # their tasks take the language model's label, with its reliability note
    try:
        embedder = resources._embedder()
    except CoreError:
        embedder = None
    return Models(llm=llm, encoder=encoder, task_heads=heads, embedder=embedder)


def _release(worker: RationaleWorker) -> None:
    worker.stop(timeout=0)  # a running item finishes; the rest stays queued for the next worker


@st.cache_resource(show_spinner=False, on_release=_release)
def worker() -> RationaleWorker:
    """The process's one rationale worker (started when first asked for)."""
    return RationaleWorker(settings(), [(main_store(), False), (demo_store(), True)], _models,
                           accounts=main_store()).start()


@st.cache_resource(show_spinner=False)
def _warm_all() -> threading.Thread:
    """One background thread per process: the encoder and task heads first (every patient page needs them), then
    the language model (so the two loads do not share the CPU)."""
    def run():
        from app import resources

        try:
            resources._encoder()
            resources._task_heads()
        except CoreError:
            pass  # the pages that need them say why when they ask
        llm_warmup().start()

    thread = threading.Thread(target=run, name="warmup-models", daemon=True)
    thread.start()
    return thread


def start() -> None:
    """Start-up: the models begin loading and the worker begins draining the queue."""
    s = settings()
    if s.llm_warmup:
        _warm_all()
    if s.rationale_worker:
        worker()


def wake() -> None:
    """A job was just queued: the worker looks now instead of at its next poll."""
    if settings().rationale_worker:
        worker().wake()


# ------------------------------------------------------------------------------------------------ rendering
def _warmup_body(compact: bool) -> None:
    warm = llm_warmup()
    if warm.state != "loading":
        return
    progress = warm.progress()
    text = f"Language model warming up · {warm.elapsed():.0f} s" + (
        f" of about {warm.expected():.0f} s" if warm.expected() else "")
    if compact:
        st.progress(progress if progress is not None else 0.0, text=text)
    else:
        st.info(warm.describe(), icon=":material/hourglass_top:")
        st.progress(progress if progress is not None else 0.0, text=text)


def warmup_notice(*, compact: bool = False) -> None:
    """While the language model loads: what is happening, the seconds so far and the measured expected time
    (refreshed every 2 s; gone once it is ready)."""
    warm = llm_warmup()
    if warm.state != "loading":
        if warm.state == "failed" and not compact:
            st.warning(warm.describe(), icon=":material/warning:")
        return

    @st.fragment(run_every=REFRESH_SECONDS)
    def body():
        if llm_warmup().state != "loading":
            st.rerun()  # ready (or failed): the page redraws without the notice
        _warmup_body(compact)

    body()


def _rerun_when_ended(key: str, active: dict[int, str]) -> list[str]:
    """Jobs (id -> name) this view saw running and that have now ended: the whole page is redrawn so their
    rationales show. Returns the ended jobs' names (before the rerun, for a message kept in the session)."""
    seen = st.session_state.setdefault(key, {})
    ended = [name for job_id, name in seen.items() if job_id not in active]
    seen.clear()
    seen.update(active)
    return ended


def _visit_line(v: dict) -> str:
    from app.visit_view import task_title

    text = f"Visit of {v['visit_date']}: {v['done']} of {v['total']} written"
    if v["running"]:
        text += f" · writing {task_title(v['running'])}…"
    elif v["state"] == "queued":
        text += " · waiting"
    if v["failed"]:
        text += f" · {v['failed']} failed"
    if v["cancelled"]:
        text += f" · {v['cancelled']} cancelled"
    return text


def _render_job(ctx, job: dict) -> None:
    from app.visit_view import task_title

    tasks = ", ".join(task_title(t) for t in job["tasks"])
    with st.container(border=True, key=f"bg_job_{job['id']}"):
        head = (f"**Background rationales** ({tasks}) · {job['finished']} of {job['total']} done"
                f" · queued by {job['username'] or 'a former user'}")
        if job["cancel_requested"] and job["active"]:
            head += " · cancelling after the current one"
        st.markdown(head)
        warm = llm_warmup()
        if job["active"] and warm.state == "loading":
            st.caption(f"Waiting for the language model to warm up ({warm.elapsed():.0f} s so far).")
        elif job["state"] == "queued":
            st.caption("Waiting for the background worker (one job at a time).")
        for v in job["visits"]:
            st.progress(v["finished"] / v["total"] if v["total"] else 1.0, text=_visit_line(v))
            for err in v["errors"]:
                st.caption(f"Not written: {err}")
        if job["active"] and ctx.user.can("analyses.run") and not job["cancel_requested"]:
            if st.button("Cancel", key=f"bg_cancel_{job['id']}", icon=":material/cancel:",
                         help="Stops before the next visit or question; rationales already written are kept."):
                try:
                    rationale_queue.cancel(ctx, job["id"])
                    st.toast("Cancelling: rationales already written are kept.")
                except CoreError as exc:
                    st.error(str(exc))
                st.rerun()


def _ended_line(job: dict) -> str:
    ended = (job["finished_at"] or "")[:16].replace("T", " ")
    what = {"done": "finished", "cancelled": "cancelled", "failed": "stopped"}.get(job["state"], job["state"])
    line = f"Last background job {what} at {ended} UTC: {job['done']} of {job['total']} rationales written."
    if job["error"] and job["state"] != "cancelled":
        line += f" Reason: {job['error']}"
    return line


def patient_jobs(ctx, patient_id: int) -> None:
    """The patient's background rationales: progress per visit, a Cancel button, refreshed while any runs."""
    try:
        jobs = rationale_queue.status(ctx, patient_id)
    except CoreError as exc:
        st.error(str(exc))
        return
    active = any(j["active"] for j in jobs)

    def body():
        try:
            now = rationale_queue.status(ctx, patient_id)
        except CoreError as exc:
            st.error(str(exc))
            return
        running = [j for j in now if j["active"]]
        for job in running:
            _render_job(ctx, job)
        if not running and now:
            last = now[0]
            (st.warning if last["state"] == "failed" else st.caption)(_ended_line(last))
        if _rerun_when_ended(f"_bg_seen_patient_{patient_id}", {j["id"]: "" for j in running}):
            st.rerun()

    st.fragment(body, run_every=REFRESH_SECONDS if active else None)()


def my_jobs_sidebar(ctx) -> None:
    """On every page: the caller's running background jobs (this database), so a page change loses nothing, and
    a line when they have finished."""
    if flash := st.session_state.pop(_FINISHED, None):
        st.success(flash, icon=":material/task_alt:")
    try:
        mine = rationale_queue.my_active(ctx)
    except CoreError:
        return
    if ended := _rerun_when_ended("_bg_seen_sidebar", {j["id"]: j["pseudonym"] for j in mine}):
        st.success(f"Background rationales finished: {', '.join(ended)}.", icon=":material/task_alt:")
    if not mine:
        return

    @st.fragment(run_every=REFRESH_SECONDS)
    def body():
        now = rationale_queue.my_active(ctx)
        for job in now:
            st.progress(job["finished"] / job["total"] if job["total"] else 1.0,
                        text=f"{job['pseudonym']}: {job['finished']} of {job['total']} rationales")
        ended = _rerun_when_ended("_bg_seen_sidebar", {j["id"]: j["pseudonym"] for j in now})
        if ended:
            st.session_state[_FINISHED] = f"Background rationales finished: {', '.join(ended)}."
            st.rerun()

    st.caption("Background rationales")
    body()
