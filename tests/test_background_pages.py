"""What the pages show of background work (AppTest): the fast Analyse, per-visit progress of queued rationales,
Cancel, the language model's warm-up notice; and the band of a score read from the number shown.

The in-app worker and the warm-up are switched off here (MHD_RATIONALE_WORKER=0, MHD_LLM_WARMUP=0) so the queue's
state is what the test arranged; the worker itself is tested in tests/test_rationale_queue.py and in a browser in
tests/browser/test_journeys.py.
"""

from __future__ import annotations

import threading

import pytest

from core.clinical import analysis, patients, rationale_queue
from core.models.heads import band_index, get_head
from core.storage import jobs, records

NOTES = [("2026-01-05", "Sees friends every weekend; partner is very supportive. Sleeping well."),
         ("2026-02-05", "Has cut off everyone, stays alone all week, feels hopeless and empty most days.")]


@pytest.fixture
def quiet(monkeypatch):
    monkeypatch.setenv("MHD_RATIONALE_WORKER", "0")
    monkeypatch.setenv("MHD_LLM_WARMUP", "0")


def _patient(app_env):
    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-BG", consent_ml=True)
    return ctx, pid, [patients.add_visit(ctx, pid, d, t) for d, t in NOTES]


def _texts(at, kind: str) -> list[str]:
    return [getattr(e, "text", None) or getattr(e, "value", "") for e in at.get(kind)]


# ------------------------------------------------------------------------------------ sentiment band
@pytest.mark.parametrize("value, shown, band", [(-0.0, "0.0", "neutral/positive"), (-0.03, "0.0", "neutral/positive"),
                                                (0.0, "0.0", "neutral/positive"), (-0.06, "-0.1", "negative")])
def test_a_sentiment_shown_as_zero_reads_neutral_not_negative(value, shown, band):
    from app.score_style import describe

    row = describe(get_head("sentiment"), value, None, None)
    assert row["interval"].text.split(" ")[0] == shown and row["band"] == band


def test_a_value_on_a_cut_off_takes_the_less_concerning_band():
    assert get_head("sentiment").bands[band_index(get_head("sentiment"), 0.0)][1] == "neutral/positive"
    assert get_head("support").bands[band_index(get_head("support"), 2.0)][1] == "adequate"
    assert get_head("trauma").bands[band_index(get_head("trauma"), 1.5)][1] == "none/minimal"
    assert get_head("isolation").bands[band_index(get_head("isolation"), 3.0)][1] == "isolated"


# ------------------------------------------------------------------------------------ Analyse and the queue
def test_analyse_gives_scores_and_task_head_labels_now_and_shows_the_queued_rationales(app_env, quiet):
    ctx, pid, vids = _patient(app_env)
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    at.multiselect(key="batch_tasks").set_value(["depression"]).run()
    at.button(key="analyse_all").click().run(timeout=300)
    assert not at.exception
    rows = records.list_analyses(app_env.store, vids)
    assert sorted(a["kind"] for a in rows) == ["heads", "heads", "llm", "llm"]
    labels = [a for a in rows if a["kind"] == "llm"]
    assert all(a["outputs"]["label_only"] and a["label_source"] == "task_head" for a in labels)
    [job] = rationale_queue.status(ctx, pid)
    assert job["state"] == "queued" and job["total"] == 2
    assert any("rationales are being written in the background" in t for t in _texts(at, "success"))
    bars = _texts(at, "progress")
    assert "Visit of 2026-02-05: 0 of 1 written · waiting" in bars
    assert "Visit of 2026-01-05: 0 of 1 written · waiting" in bars
    # The label shows at once, from the task head, with no rationale yet.
    assert any(t.startswith("**Depression: ") and "label from the task head" in t for t in _texts(at, "markdown"))
    at.button(key=f"bg_cancel_{job['id']}").click().run()
    assert jobs.get_job(app_env.store, job["id"])["state"] == "cancelled"
    assert any("Last background job cancelled" in t for t in _texts(at, "caption"))
    assert not [k for k in (b.key for b in at.button) if k and k.startswith("bg_cancel_")]


def test_a_running_job_shows_progress_per_visit_and_a_pending_cancel(app_env, quiet):
    ctx, pid, vids = _patient(app_env)
    job_id = rationale_queue.enqueue(ctx, pid, vids, ["stress", "loneliness"])
    jobs.claim_next(app_env.store, rationale_queue.worker_id())  # a live worker (this process) runs it
    first, second = jobs.items_of(app_env.store, [job_id])[:2]
    jobs.start_item(app_env.store, first["id"])
    jobs.finish_item(app_env.store, first["id"], "done")
    jobs.start_item(app_env.store, second["id"])
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not at.exception
    bars = _texts(at, "progress")
    assert "Visit of 2026-02-05: 1 of 2 written · writing Loneliness…" in bars
    assert "Visit of 2026-01-05: 0 of 2 written · waiting" in bars
    at.button(key=f"bg_cancel_{job_id}").click().run()
    assert jobs.get_job(app_env.store, job_id)["cancel_requested"]
    assert any("cancelling after the current one" in t for t in _texts(at, "markdown"))
    # A clinical lead sees the progress, without a Cancel button.
    lead = app_env.page("pages/patient.py", "lead", patient_id=pid).run()
    assert "Visit of 2026-02-05: 1 of 2 written · writing Loneliness…" in _texts(lead, "progress")
    assert not [b for b in lead.button if (b.key or "").startswith("bg_cancel_")]


def test_a_failed_job_says_why_on_the_patient(app_env, quiet):
    ctx, pid, vids = _patient(app_env)
    job_id = rationale_queue.enqueue(ctx, pid, vids, ["stress"])
    job = jobs.claim_next(app_env.store, "w")

    def unavailable():
        from core.errors import ModelUnavailable

        raise ModelUnavailable("No language model at /nowhere")

    rationale_queue.run_job(app_env.store, job, unavailable, settings=app_env.settings)
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert any("Last background job stopped" in t and "No language model at /nowhere" in t
               for t in _texts(at, "warning"))
    assert jobs.get_job(app_env.store, job_id)["state"] == "failed"


def test_the_task_heads_label_alone_steps_aside_for_the_full_answer(app_env, quiet):
    """The data behind the visit view: a label-only output and, later, the full answer of the same task head."""
    from app.visit_view import visible_answers
    from core.llm.model import load_llm
    from core.models.encoder import load_encoder
    from core.models.task_heads import load_task_heads
    from tests._llm_fixture import tiny_settings

    ctx, pid, vids = _patient(app_env)
    enc = load_encoder(app_env.settings)
    heads = load_task_heads(app_env.settings, enc)
    only = analysis.run_head_label(ctx, vids[1], "depression", heads, enc)
    assert visible_answers([only]) == [only]
    tiny = load_llm(tiny_settings(app_env.settings.data_dir.parent / "tiny"))
    full = analysis.run_llm_task(ctx, vids[1], "depression", tiny, task_heads=heads, encoder=enc)
    assert full["label_model_version"] == only["label_model_version"]
    assert [a["id"] for a in visible_answers([only, full])] == [full["id"]]
    # Signed, it stays: everything a person acted on is shown.
    analysis.sign(ctx, only["id"])
    signed = records.get_analysis(app_env.store, only["id"])
    assert [a["id"] for a in visible_answers([signed, full])] == [only["id"], full["id"]]


# ------------------------------------------------------------------------------------ warm-up notice
def test_the_patient_page_says_the_language_model_is_warming_up(app_env, quiet, monkeypatch):
    """A real load of the (tiny) language model, held at its start until the page has been drawn."""
    from core.llm.model import load_llm
    from core.serving import warmup
    from tests._llm_fixture import tiny_settings

    gate = threading.Event()
    settings = tiny_settings(app_env.settings.data_dir.parent / "tiny")
    held = warmup.Warmup("language model", lambda: (gate.wait(120), load_llm(settings))[1])
    monkeypatch.setattr(warmup, "llm_warmup", lambda s: held)
    ctx, pid, _ = _patient(app_env)
    held.start()
    try:
        at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
        assert not at.exception
        assert any("warming up in the background" in t for t in _texts(at, "info"))
        assert any(t.startswith("Language model warming up · ") for t in _texts(at, "progress"))
    finally:
        gate.set()
    assert held.wait(timeout=300) is not None
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not any("warming up" in t for t in _texts(at, "info"))
