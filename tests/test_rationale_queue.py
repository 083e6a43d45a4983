"""The background queue of language-model rationales (core.clinical.rationale_queue / rationale_worker / analyse)
and the language model's warm-up (core.serving.warmup).

Real models: the embedded MiniLM encoder with the shipped heads and task heads; a tiny random Llama
(tests/_llm_fixture.py) for the queue's mechanics; the embedded SmolLM2 + adapter in the slow end-to-end test.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.clinical import analyse, analysis, patients, rationale_queue
from core.clinical.rationale_queue import Models
from core.clinical.rationale_worker import RationaleWorker
from core.context import Context
from core.errors import ConsentRequired, JobNotFound, ModelUnavailable, PermissionDenied, ValidationError
from core.security import accounts
from core.storage import jobs, records
from core.storage.audit import list_events

ROOT = Path(__file__).resolve().parent.parent
NOTES = [
    ("2026-01-12", "Sleeping badly since the move. Misses her old colleagues but calls her sister most evenings."),
    ("2026-02-09", "Has stopped answering friends' messages. Spends weekends alone and says nobody would notice."),
]


@pytest.fixture(scope="module")
def tiny_llm(tmp_path_factory):
    from core.llm.model import load_llm
    from tests._llm_fixture import tiny_settings

    return load_llm(tiny_settings(tmp_path_factory.mktemp("tiny-llm")))


@pytest.fixture(scope="module")
def encoder():
    from core.models.encoder import load_encoder
    from core.settings import load_settings

    return load_encoder(load_settings(env={}))


@pytest.fixture(scope="module")
def task_heads(encoder):
    from core.models.task_heads import load_task_heads
    from core.settings import load_settings

    return load_task_heads(load_settings(env={}), encoder)


@pytest.fixture
def ctx(settings, store, users):
    return Context(settings, store, users["psy"])


def _patient(ctx, consent=True) -> tuple[int, list[int]]:
    pid = patients.create_patient(ctx, f"P-{len(records.all_patient_ids(ctx.store)) + 1:03d}", consent_ml=consent)
    return pid, [patients.add_visit(ctx, pid, d, t) for d, t in NOTES]


def _actions(store, action: str) -> list[dict]:
    events = [e for e in list_events(store, limit=1000) if e["action"] == action]
    for e in events:
        e["details"] = json.loads(e["details"]) if isinstance(e["details"], str) else e["details"]
    return events


def _run(store, settings, llm, **kw):
    return rationale_queue.run_next(store, "test-worker", lambda: Models(llm=llm), settings=settings, **kw)


# ---------------------------------------------------------------------------------------------- enqueue
def test_enqueue_queues_every_visit_newest_first_and_status_shows_progress_per_visit(ctx, store):
    pid, vids = _patient(ctx)
    job_id = rationale_queue.enqueue(ctx, pid, vids, ["stress", "loneliness"])
    items = jobs.items_of(store, [job_id])
    assert [(i["visit_id"], i["task"]) for i in items] == [(vids[1], "stress"), (vids[1], "loneliness"),
                                                           (vids[0], "stress"), (vids[0], "loneliness")]
    [job] = rationale_queue.status(ctx, pid)
    assert job["state"] == "queued" and job["active"] and (job["total"], job["finished"]) == (4, 0)
    assert [(v["visit_date"], v["total"], v["state"]) for v in job["visits"]] == [
        ("2026-02-09", 2, "queued"), ("2026-01-12", 2, "queued")]
    [event] = _actions(store, "rationale.enqueue")
    assert event["entity_id"] == str(pid) and event["details"]["job_id"] == job_id


def test_the_same_rationales_are_not_queued_twice(ctx, store):
    pid, vids = _patient(ctx)
    rationale_queue.enqueue(ctx, pid, vids, ["stress"])
    with pytest.raises(ValidationError, match="already queued"):
        rationale_queue.enqueue(ctx, pid, vids, ["stress"])
    second = rationale_queue.enqueue(ctx, pid, vids, ["stress", "loneliness"])  # only the new task is added
    assert {i["task"] for i in jobs.items_of(store, [second])} == {"loneliness"}


@pytest.mark.parametrize("who, error", [("qa", PermissionDenied), ("lead", PermissionDenied),
                                        ("psy2", PermissionDenied)])
def test_enqueue_is_refused_without_the_right_to_run_models_on_this_patient(settings, store, users, ctx, who, error):
    pid, vids = _patient(ctx)
    with pytest.raises(error):
        rationale_queue.enqueue(Context(settings, store, users[who]), pid, vids, ["stress"])
    assert jobs.jobs_for_patient(store, pid) == []


def test_enqueue_is_refused_without_consent_and_for_bad_input(ctx, store):
    pid, vids = _patient(ctx, consent=False)
    with pytest.raises(ConsentRequired):
        rationale_queue.enqueue(ctx, pid, vids, ["stress"])
    other, other_vids = _patient(ctx)
    with pytest.raises(ValidationError, match="does not belong"):
        rationale_queue.enqueue(ctx, other, vids, ["stress"])
    with pytest.raises(ValidationError, match="Unknown"):
        rationale_queue.enqueue(ctx, other, other_vids, ["progression"])
    with pytest.raises(ValidationError, match="at least one"):
        rationale_queue.enqueue(ctx, other, other_vids, [])
    assert jobs.jobs_for_patient(store, pid) == [] and jobs.jobs_for_patient(store, other) == []


# ---------------------------------------------------------------------------------------------- worker
def test_a_job_runs_through_the_foreground_path_stored_audited_and_attributed(ctx, store, settings, tiny_llm):
    pid, vids = _patient(ctx)
    job_id = rationale_queue.enqueue(ctx, pid, vids, ["stress"])
    assert _run(store, settings, tiny_llm) == job_id
    assert _run(store, settings, tiny_llm) is None  # the queue is empty
    [job] = rationale_queue.status(ctx, pid)
    assert job["state"] == "done" and (job["done"], job["total"]) == (2, 2)
    assert all(v["state"] == "done" for v in job["visits"])
    stored = [a for a in records.list_analyses(store, vids) if a["kind"] == "llm"]
    assert sorted(a["visit_id"] for a in stored) == sorted(vids)
    assert {i["analysis_id"] for i in jobs.items_of(store, [job_id])} == {a["id"] for a in stored}
    assert all(a["created_by"] == ctx.user.id and a["model_version"] == tiny_llm.version for a in stored)
    runs = [e for e in _actions(store, "model.run") if e["details"]["kind"] == "llm"]
    assert len(runs) == 2 and all(e["username"] == "psy" for e in runs)
    assert [e["details"]["state"] for e in _actions(store, "rationale.end")] == ["done"]


def test_cancel_of_a_queued_job_runs_nothing(ctx, store, settings, tiny_llm):
    pid, vids = _patient(ctx)
    job_id = rationale_queue.enqueue(ctx, pid, vids, ["stress"])
    assert rationale_queue.cancel(ctx, job_id)["state"] == "cancelled"
    assert _run(store, settings, tiny_llm) is None
    assert {i["state"] for i in jobs.items_of(store, [job_id])} == {"cancelled"}
    assert not [a for a in records.list_analyses(store, vids) if a["kind"] == "llm"]
    assert _actions(store, "rationale.cancel")[0]["details"]["state_before"] == "queued"
    with pytest.raises(ValidationError, match="already ended"):
        rationale_queue.cancel(ctx, job_id)
    with pytest.raises(JobNotFound):
        rationale_queue.cancel(ctx, 999)


def test_cancel_takes_effect_between_items_and_keeps_what_was_stored(ctx, store, settings, tiny_llm, monkeypatch):
    pid, vids = _patient(ctx)
    job_id = rationale_queue.enqueue(ctx, pid, vids, ["stress", "loneliness"])
    real = analysis.run_llm_task
    calls = []

    def run_then_cancel(*args, **kwargs):  # the person presses Cancel while the first rationale is written
        out = real(*args, **kwargs)
        calls.append(out["id"])
        if len(calls) == 1:
            rationale_queue.cancel(ctx, job_id)
        return out

    monkeypatch.setattr(analysis, "run_llm_task", run_then_cancel)
    _run(store, settings, tiny_llm)
    [job] = rationale_queue.status(ctx, pid)
    assert job["state"] == "cancelled" and (job["done"], job["cancelled"]) == (1, 3)
    assert [a["id"] for a in records.list_analyses(store, vids) if a["kind"] == "llm"] == calls


def test_cancel_needs_write_access_to_the_patient(ctx, settings, store, users):
    pid, vids = _patient(ctx)
    job_id = rationale_queue.enqueue(ctx, pid, vids, ["stress"])
    for who in ("psy2", "qa"):
        with pytest.raises(PermissionDenied):
            rationale_queue.cancel(Context(settings, store, users[who]), job_id)
    assert jobs.get_job(store, job_id)["state"] == "queued"


def test_consent_withdrawn_before_the_job_runs_ends_it_without_running_a_model(ctx, store, settings, tiny_llm):
    pid, vids = _patient(ctx)
    job_id = rationale_queue.enqueue(ctx, pid, vids, ["stress"])
    patients.update_patient(ctx, pid, consent_ml=False)
    _run(store, settings, tiny_llm)
    job = jobs.get_job(store, job_id)
    assert job["state"] == "failed" and "consented" in job["error"]
    assert not [a for a in records.list_analyses(store, vids) if a["kind"] == "llm"]


def test_a_job_of_a_deactivated_account_fails_with_the_reason(ctx, store, settings, users, tiny_llm):
    pid, vids = _patient(ctx)
    job_id = rationale_queue.enqueue(ctx, pid, vids, ["stress"])
    accounts.set_active(store, users["psy"].id, False, users["admin"])
    _run(store, settings, tiny_llm)
    assert jobs.get_job(store, job_id)["error"] == "The account that queued this job is no longer active."
    assert not [a for a in records.list_analyses(store, vids) if a["kind"] == "llm"]


def test_models_that_cannot_load_fail_the_job_with_their_message(ctx, store, settings):
    pid, vids = _patient(ctx)
    job_id = rationale_queue.enqueue(ctx, pid, vids, ["stress"])

    def no_model():
        raise ModelUnavailable("No language model at /nowhere")

    rationale_queue.run_next(store, "w", no_model, settings=settings)
    job = jobs.get_job(store, job_id)
    assert job["state"] == "failed" and job["error"] == "No language model at /nowhere"


# ------------------------------------------------------------------------------------ a killed worker
CLAIM_AND_HANG = """
import sys, time
from core.clinical import rationale_queue
from core.storage import jobs, open_store
store = open_store(sys.argv[1], key="")
job = jobs.claim_next(store, rationale_queue.worker_id())
jobs.start_item(store, jobs.next_item(store, job["id"])["id"])
print("claimed", flush=True)
time.sleep(600)
"""


def _claim_and_get_killed(db_path) -> None:
    """A real worker process claims the job, starts an item and is killed (SIGKILL) mid-item."""
    proc = subprocess.Popen([sys.executable, "-c", CLAIM_AND_HANG, str(db_path)], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stdout.readline().strip() == "claimed"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)


def test_a_job_left_running_by_a_killed_worker_is_requeued_then_failed_after_repeated_kills(
        ctx, store, settings, tiny_llm):
    pid, vids = _patient(ctx)
    job_id = rationale_queue.enqueue(ctx, pid, vids, ["stress"])
    _claim_and_get_killed(settings.database)
    job = jobs.get_job(store, job_id)
    assert job["state"] == "running" and {i["state"] for i in jobs.items_of(store, [job_id])} == {"running", "queued"}
    assert rationale_queue.recover(store, "new-worker") == [(job_id, "requeued")]
    assert {i["state"] for i in jobs.items_of(store, [job_id])} == {"queued"}
    assert _actions(store, "rationale.requeued")[0]["details"]["job_id"] == job_id
    for _ in range(rationale_queue.MAX_ATTEMPTS - 1):
        _claim_and_get_killed(settings.database)
        rationale_queue.recover(store, "new-worker")
    job = jobs.get_job(store, job_id)
    assert job["state"] == "failed" and f"stopped {rationale_queue.MAX_ATTEMPTS} times" in job["error"]
    assert _actions(store, "rationale.failed")
    assert _run(store, settings, tiny_llm) is None  # a failed job is not picked up again


def test_a_running_job_of_a_live_worker_is_left_alone(ctx, store):
    pid, vids = _patient(ctx)
    job_id = rationale_queue.enqueue(ctx, pid, vids, ["stress"])
    jobs.claim_next(store, rationale_queue.worker_id())  # this (live) process
    assert rationale_queue.recover(store, "another-worker") == []
    assert jobs.get_job(store, job_id)["state"] == "running"


def test_worker_thread_drains_the_queue_of_each_database(ctx, store, settings, tiny_llm):
    pid, vids = _patient(ctx)
    job_id = rationale_queue.enqueue(ctx, pid, vids, ["stress"])
    worker = RationaleWorker(settings, [(store, False)], lambda: Models(llm=tiny_llm), poll_seconds=0.2).start()
    try:
        worker.wake()
        deadline = time.monotonic() + 300
        while jobs.get_job(store, job_id)["state"] in jobs.ACTIVE and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker.stop(timeout=60)
    assert jobs.get_job(store, job_id)["state"] == "done"
    assert not worker.alive and worker.last_error == ""


# ------------------------------------------------------------------------------------ the Analyse action
def test_analyse_scores_labels_and_checks_every_visit_now_and_queues_the_rationales(ctx, store, encoder, task_heads):
    pid, vids = _patient(ctx)
    seen = []
    out = analyse.analyse(ctx, pid, encoder, ["depression", "loneliness"], task_heads=task_heads,
                          progress=lambda done, total, text: seen.append((done, total)))
    assert (out["visits"], out["scored"], out["labels"]) == (2, 2, 2)  # loneliness has no task head
    assert seen[-1][0] == seen[-1][1] and len({d for d, _ in seen}) == seen[-1][1] + 1  # every step reported
    rows = records.list_analyses(store, vids)
    labels = [a for a in rows if a["kind"] == "llm"]
    assert {(a["visit_id"], a["task"]) for a in labels} == {(v, "depression") for v in vids}
    assert all(a["outputs"]["label_only"] and a["label_source"] == "task_head" and not a["outputs"]["rationale"]
               and a["outputs"]["label"] in ("yes", "no") for a in labels)
    assert analysis.LABEL_ONLY_NOTE in labels[0]["outputs"]["notes"]
    assert {a["visit_id"] for a in rows if a["kind"] == "heads"} == set(vids)
    assert set(records.visit_crisis(store, vids)) == set(vids)
    [job] = rationale_queue.status(ctx, pid)
    assert job["id"] == out["job_id"] and job["total"] == 4
    again = analyse.analyse(ctx, pid, encoder, ["depression", "loneliness"], task_heads=task_heads)
    assert again["job_id"] is None and "already queued" in again["note"] and again["labels"] == 2
    assert len(rationale_queue.status(ctx, pid)) == 1
    assert len([a for a in records.list_analyses(store, vids) if a["kind"] == "llm"]) == 2  # nothing twice


def test_analyse_is_refused_without_consent_before_any_model_runs(ctx, store, encoder):
    pid, vids = _patient(ctx, consent=False)
    with pytest.raises(ConsentRequired):
        analyse.analyse(ctx, pid, encoder, ["stress"])
    assert records.list_analyses(store, vids) == [] and jobs.jobs_for_patient(store, pid) == []


def test_task_head_labels_alone_do_not_count_as_language_model_time(ctx, store, encoder, task_heads):
    from core.clinical import timing

    pid, _ = _patient(ctx)
    analyse.analyse(ctx, pid, encoder, ["depression"], task_heads=task_heads)
    assert timing.typical_seconds(ctx) is None


@pytest.mark.slow
def test_embedded_llm_background_rationale_follows_the_task_heads_label(ctx, store, settings, encoder, task_heads):
    """End to end with the real embedded language model: label now, rationale from the queue."""
    from tests._llm_fixture import embedded_llm

    llm = embedded_llm()
    pid, vids = _patient(ctx)
    out = analyse.analyse(ctx, pid, encoder, ["depression"], task_heads=task_heads)
    models = Models(llm=llm, encoder=encoder, task_heads=task_heads)
    assert rationale_queue.run_next(store, "w", lambda: models, settings=settings) == out["job_id"]
    rows = [a for a in records.list_analyses(store, vids) if a["kind"] == "llm"]
    full = [a for a in rows if not a["outputs"].get("label_only")]
    only = {a["visit_id"]: a for a in rows if a["outputs"].get("label_only")}
    assert len(full) == 2 and len(only) == 2
    for a in full:
        assert a["outputs"]["rationale"].strip() and a["model_version"] == llm.version
        assert a["outputs"]["label"] == only[a["visit_id"]]["outputs"]["label"]  # the same head, the same label
    seconds, runs = __import__("core.clinical.timing", fromlist=["x"]).typical_seconds(ctx)
    assert runs == 2 and seconds > 0


# ------------------------------------------------------------------------------------------- warm-up
def test_warmup_loads_in_the_background_and_records_its_measured_time(tmp_path):
    from core.serving.warmup import llm_warmup
    from tests._llm_fixture import tiny_settings

    settings = tiny_settings(tmp_path)
    first = llm_warmup(settings)
    assert first.state == "not started" and first.expected() is None and first.progress() is None
    llm = first.start().wait(timeout=300)
    assert first.state == "ready" and first.progress() == 1.0 and llm.model_id == settings.llm_base
    second = llm_warmup(settings)  # the next start knows how long the last one took here
    assert second.expected() == pytest.approx(first.elapsed(), abs=0.01)
    assert "warming up" in second.start().describe() or second.wait(timeout=300)


def test_warmup_failure_says_why(tmp_path):
    from core.serving.warmup import llm_warmup
    from tests._llm_fixture import tiny_settings

    warm = llm_warmup(tiny_settings(tmp_path, llm_base=str(tmp_path / "no-such-model")))
    with pytest.raises(ModelUnavailable):
        warm.wait(timeout=120)
    assert warm.state == "failed" and "could not be loaded" in warm.describe()
    assert not (tmp_path / "var" / "cache" / "llm_load_seconds.json").exists()
