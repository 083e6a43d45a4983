"""core.clinical.analysis: cached runs, pending visits with progress, sign-off, consent, and failures that store nothing.

Real models at the boundary: the embedded MiniLM encoder with the shipped heads, and a tiny random Llama
(tests/_llm_fixture.py) standing in for the slow-to-load embedded LLM. The spies below count the calls that
reach the models and pass them on to the real functions.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from core import backends as remote
from core.clinical import analysis, patients
from core.context import Context
from core.errors import ConsentRequired, InferenceError, SignedImmutable
from core.llm import answers
from core.storage import records
from core.storage.audit import list_events

NOTES = [
    ("2026-01-12", "Sleeping badly since the move. Misses her old colleagues but calls her sister most evenings."),
    ("2026-02-09", "Has stopped answering friends' messages. Spends weekends alone and says nobody would notice."),
    ("2026-03-09", "Went to one book-club meeting. Still tired, but her sister stayed over for a week."),
]


@pytest.fixture(scope="module")
def encoder():
    from core.models.encoder import load_encoder
    from core.settings import load_settings

    return load_encoder(load_settings(env={}))


@pytest.fixture(scope="module")
def llm(tmp_path_factory):
    from core.llm.model import load_llm
    from tests._llm_fixture import tiny_settings

    return load_llm(tiny_settings(tmp_path_factory.mktemp("tiny-llm")))


@pytest.fixture
def model_calls(monkeypatch):
    """Every call that reaches a model, by function; the real function still runs."""
    calls: dict[str, list] = {"score_texts": [], "analyze": []}
    real_score, real_analyze = remote.score_texts, remote.analyze

    def score_texts(encoder, texts, **kwargs):
        calls["score_texts"].append(list(texts))
        return real_score(encoder, texts, **kwargs)

    def analyze(llm, task, text, **kwargs):
        calls["analyze"].append((task, text))
        return real_analyze(llm, task, text, **kwargs)

    monkeypatch.setattr(remote, "score_texts", score_texts)
    monkeypatch.setattr(remote, "analyze", analyze)
    return calls


@pytest.fixture
def ctx(settings, store, users):
    return Context(settings, store, users["psy"])


def _patient(ctx, consent=True, notes=NOTES) -> tuple[int, list[int]]:
    pid = patients.create_patient(ctx, f"P-{len(records.all_patient_ids(ctx.store)) + 1:03d}", consent_ml=consent)
    return pid, [patients.add_visit(ctx, pid, d, t) for d, t in notes]


@contextmanager
def fails_after(module, calls: int, message: str):
    """Make ``module``'s forward pass raise (as a model does on a bad device or out of memory) after ``calls``."""
    seen = {"n": 0}

    def hook(_module, _args, _output):
        seen["n"] += 1
        if seen["n"] > calls:
            raise RuntimeError(message)

    handle = module.register_forward_hook(hook)
    try:
        yield seen
    finally:
        handle.remove()


# ---------------------------------------------------------------- cache
def test_second_heads_run_is_a_cache_hit(ctx, store, encoder, model_calls):
    _, [vid, *_] = _patient(ctx)
    first = analysis.run_heads(ctx, vid, encoder)
    second = analysis.run_heads(ctx, vid, encoder)
    assert second["id"] == first["id"] and second["outputs"] == first["outputs"]
    assert len(model_calls["score_texts"]) == 1
    assert [a["kind"] for a in records.list_analyses(store, [vid])] == ["heads"]
    assert first["model_version"] == encoder.version and first["model_id"] == encoder.model_id
    assert set(first["outputs"]["heads"]) == {"sentiment", "family_history", "trauma", "isolation", "support"}
    assert len(list_events(store, action="model.run")) == 1


def test_second_llm_run_is_a_cache_hit_and_the_model_cache_serves_identical_notes(ctx, store, llm, model_calls):
    same = [NOTES[0], ("2026-04-06", NOTES[0][1])]  # a note pasted twice
    _, [v1, v2] = _patient(ctx, notes=same)
    streamed: list[str] = []
    first = analysis.run_llm_task(ctx, v1, "depression", llm, on_token=streamed.append)
    assert first["outputs"]["rationale"] and "".join(streamed).strip() == first["outputs"]["rationale"]
    again = analysis.run_llm_task(ctx, v1, "depression", llm)
    assert again["id"] == first["id"]
    assert len(model_calls["analyze"]) == 1
    assert len(records.list_analyses(store, [v1])) == 1
    assert first["prompt_version"] == "imhi-1" and first["model_version"] == llm.version
    # Same text on another visit: a new row for that visit, but no second model call; the rationale is replayed.
    replayed: list[str] = []
    other = analysis.run_llm_task(ctx, v2, "depression", llm, on_token=replayed.append)
    assert other["id"] != first["id"] and other["outputs"] == first["outputs"]
    assert replayed == [first["outputs"]["rationale"]]
    assert len(model_calls["analyze"]) == 1


# ---------------------------------------------------------------- pending visits
def test_analyze_pending_runs_only_what_is_missing_and_reports_progress(ctx, store, encoder, llm, model_calls):
    pid, vids = _patient(ctx)
    analysis.run_heads(ctx, vids[0], encoder)
    model_calls["score_texts"].clear()
    progress: list[tuple[int, int, str]] = []
    n = analysis.analyze_pending(ctx, pid, encoder, llm, ("depression",),
                                 progress=lambda done, total, text: progress.append((done, total, text)))
    assert n == 3  # the first visit still needed the chosen task, not its heads
    assert model_calls["score_texts"] == [[NOTES[1][1]], [NOTES[2][1]]]
    assert model_calls["analyze"] == [("depression", NOTES[0][1]), ("depression", NOTES[1][1]),
                                      ("depression", NOTES[2][1])]
    d0, d1, d2 = (NOTES[i][0] for i in range(3))
    assert progress == [(0, 5, f"depression on visit of {d0}"),
                        (1, 5, f"Scoring visit of {d1}"), (2, 5, f"depression on visit of {d1}"),
                        (3, 5, f"Scoring visit of {d2}"), (4, 5, f"depression on visit of {d2}"),
                        (5, 5, "Done")]
    kinds = {vid: sorted(a["kind"] for a in records.list_analyses(store, [vid])) for vid in vids}
    assert kinds == {vid: ["heads", "llm"] for vid in vids}
    # Nothing left: no model call, and progress still closes.
    progress.clear()
    assert analysis.analyze_pending(ctx, pid, encoder, progress=lambda *a: progress.append(a)) == 0
    assert len(model_calls["score_texts"]) == 2 and progress == [(0, 0, "Done")]


def test_analyze_pending_runs_a_newly_chosen_llm_task_on_scored_visits(ctx, store, encoder, llm):
    pid, vids = _patient(ctx, notes=NOTES[:2])
    assert analysis.analyze_pending(ctx, pid, encoder) == 2
    analysis.analyze_pending(ctx, pid, encoder, llm, ("depression",))
    assert all(any(a["task"] == "depression" for a in records.list_analyses(store, [v])) for v in vids)


# ---------------------------------------------------------------- sign-off
def test_signing_twice_raises_signed_immutable_and_changes_nothing(ctx, store, users, encoder):
    _, [vid, *_] = _patient(ctx)
    aid = analysis.run_heads(ctx, vid, encoder)["id"]
    signed = analysis.sign(ctx, aid)
    assert signed["status"] == "signed" and signed["signed_by"] == users["psy"].id and signed["signed_at"]
    with pytest.raises(SignedImmutable):
        analysis.sign(ctx, aid)
    assert records.get_analysis(store, aid)["signed_at"] == signed["signed_at"]
    events = list_events(store, action="analysis.sign")
    assert len(events) == 1 and events[0]["entity_id"] == str(aid)


# ---------------------------------------------------------------- consent
def test_analysis_without_consent_is_refused_before_any_model_runs(ctx, store, encoder, llm, model_calls):
    pid, vids = _patient(ctx, consent=False)
    for run in (lambda: analysis.run_heads(ctx, vids[0], encoder),
                lambda: analysis.run_llm_task(ctx, vids[0], "depression", llm),
                lambda: analysis.analyze_pending(ctx, pid, encoder, llm, ("depression",)),
                lambda: analysis.run_progression(ctx, pid, llm)):
        with pytest.raises(ConsentRequired, match="not consented"):
            run()
    assert model_calls == {"score_texts": [], "analyze": []}
    assert records.list_analyses(store, vids) == [] and list_events(store, action="model.run") == []
    patients.update_patient(ctx, pid, consent_ml=True)
    assert analysis.run_heads(ctx, vids[0], encoder)["kind"] == "heads"


# ---------------------------------------------------------------- failures
def test_encoder_failure_stores_nothing_and_a_retry_works(ctx, store, encoder):
    _, [vid, *_] = _patient(ctx)
    encoder._embed_cache.clear()  # notes scored by earlier tests would not reach the backbone again
    with fails_after(encoder.model.backbone, 0, "device lost"), pytest.raises(InferenceError, match="device lost"):
        analysis.run_heads(ctx, vid, encoder)
    assert records.list_analyses(store, [vid]) == [] and list_events(store, action="model.run") == []
    assert analysis.run_heads(ctx, vid, encoder)["kind"] == "heads"


def test_llm_failure_mid_rationale_stores_nothing(ctx, store, llm):
    _, [vid, *_] = _patient(ctx)
    streamed: list[str] = []
    # Prompt, label scoring and the label sentence pass; the model dies two tokens into the rationale.
    with fails_after(llm.model, 4, "out of memory") as seen, pytest.raises(InferenceError, match="out of memory"):
        analysis.run_llm_task(ctx, vid, "depression", llm, on_token=streamed.append)
    assert seen["n"] == 5 and streamed, "the failure should come while the rationale streams"
    assert records.list_analyses(store, [vid]) == []
    assert records.cache_get(store, answers.cache_key(llm, "depression", NOTES[0][1])) is None
    assert list_events(store, action="model.run") == []


def test_failure_midway_through_pending_visits_keeps_finished_visits_only(ctx, store, encoder):
    pid, vids = _patient(ctx)
    encoder._embed_cache.clear()  # notes scored by earlier tests would not reach the backbone again
    with fails_after(encoder.model.backbone, 1, "device lost"), pytest.raises(InferenceError):
        analysis.analyze_pending(ctx, pid, encoder)
    assert [len(records.list_analyses(store, [v])) for v in vids] == [1, 0, 0]
    assert analysis.analyze_pending(ctx, pid, encoder) == 2
    assert [len(records.list_analyses(store, [v])) for v in vids] == [1, 1, 1]
