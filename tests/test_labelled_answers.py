"""Where labels come from: a task head labels its task, the LLM writes the rationale after the head's label sentence
and records its own label; reliability notes from recorded evaluations; disagreement only between reliable sources
raises review priority; stored analyses name the model that made the label.

Real models: the embedded MiniLM encoder with the shipped heads and task heads, and a tiny random Llama
(tests/_llm_fixture.py) for the LLM (its rationale is noise; only the mechanics are tested here)."""

from __future__ import annotations

import copy

import pytest

from core import labels as la
from core.review.items import DISAGREEMENT_PRIORITY, priority_of

NOTE = ("Has felt hopeless and worthless for two months. Stopped seeing friends, sleeps most of the day. "
        "Says nothing she used to enjoy matters now.")


@pytest.fixture(scope="module")
def encoder():
    from core.models.encoder import load_encoder
    from core.settings import load_settings

    return load_encoder(load_settings(env={}))


@pytest.fixture(scope="module")
def heads(encoder):
    from core.models.task_heads import load_task_heads
    from core.settings import load_settings

    return load_task_heads(load_settings(env={}), encoder)


@pytest.fixture(scope="module")
def llm(tmp_path_factory):
    from core.llm.model import load_llm
    from tests._llm_fixture import tiny_settings

    return load_llm(tiny_settings(tmp_path_factory.mktemp("tiny-llm")))


def _reliable(heads):
    """A copy of the heads whose recorded evaluation says every task is reliable (for the disagreement cases)."""
    out = copy.copy(heads)
    out.evaluation = {"datasets": {"DR": {"n": 405, "tasks": ["depression"], "weighted_f1": 0.9, "majority": 0.65,
                                          "auroc": 0.95, "ece_after": 0.03, "beats_both_baselines": True}}}
    return out


@pytest.mark.slow
def test_a_task_head_gives_the_label_and_the_llm_writes_after_it(encoder, heads, llm):
    streamed = []
    out = la.answer(llm, "depression", NOTE, task_heads=heads, encoder=encoder, on_token=streamed.append)
    assert out["label_source"] == "task_head" and out["label"] == "yes"
    assert out["label_model_version"] == heads.version and out["label_model_id"] == heads.model_id
    assert out["probabilities"]["yes"] > 0.5 and sum(out["probabilities"].values()) == pytest.approx(1.0)
    assert out["label_sentence"] == "Yes, the poster suffers from depression."
    assert out["model_version"] == llm.version and out["prompt_version"] == "imhi-1"
    assert out["llm"]["label"] in ("yes", "no") and set(out["llm"]["probabilities"]) == {"yes", "no"}
    # the tiny LLM has no recorded evaluation: never shown as a second reading, never a disagreement
    assert out["llm"]["shown"] is False and out["disagreement"] is False
    assert "".join(streamed).strip() == out["rationale"]
    assert out["faithful_evidence"]["label"] == "yes" and out["faithful_evidence"]["sentences"]


@pytest.mark.slow
def test_the_rationale_follows_the_head_label_not_the_llm_label(encoder, heads, llm, monkeypatch):
    from core import backends

    seen = {}
    real = backends.analyze

    def spy(llm_, task, text, **kw):
        seen.update(kw)
        return real(llm_, task, text, **kw)

    monkeypatch.setattr(backends, "analyze", spy)
    out = la.answer(llm, "stress", "Work is fine and I sleep well. We went camping.", task_heads=heads,
                    encoder=encoder)
    assert seen["follow_label"] == out["label"]


@pytest.mark.slow
def test_tasks_without_a_head_keep_the_llm_path(encoder, heads, llm):
    out = la.answer(llm, "depression_cause", NOTE, task_heads=heads, encoder=encoder)
    assert out["label_source"] == "llm" and out["label_model_version"] == llm.version
    assert "faithful_evidence" not in out
    # nobody measured this model on this task: the probability beside its label is its own confidence
    assert out["reliability"] == {"reliable": False, "note": la.NOT_EVALUATED_LLM.format(title="Cause of depression (CAMS)")}


@pytest.mark.slow
def test_a_task_the_llm_was_measured_on_carries_that_measurement_not_the_unmeasured_note(encoder, heads, llm):
    measured = copy.copy(llm)
    measured.reliable_tasks = {"depression_cause"}
    out = la.answer(measured, "depression_cause", NOTE, task_heads=heads, encoder=encoder)
    assert out["reliability"] == {"reliable": True, "note": None}
    measured.reliable_tasks, measured.weak_tasks = set(), {"depression_cause": "weak on CAMS"}
    out = la.answer(measured, "depression_cause", NOTE, task_heads=heads, encoder=encoder)
    assert out["reliability"] == {"reliable": False, "note": "weak on CAMS"}


@pytest.mark.slow
def test_disagreement_counts_only_when_both_sources_are_reliable(encoder, heads, llm, monkeypatch):
    from core import backends

    real = backends.analyze

    def contrary(llm_, task, text, **kw):
        r = real(llm_, task, text, **kw)
        r["label"] = "no"  # the LLM reads the note the other way
        return r

    monkeypatch.setattr(backends, "analyze", contrary)
    reliable = _reliable(heads)
    weak = la.answer(llm, "depression", NOTE, task_heads=reliable, encoder=encoder)
    assert weak["label"] == "yes" and weak["llm"]["label"] == "no" and weak["disagreement"] is False
    monkeypatch.setattr(llm, "reliable_tasks", {"depression"})
    strong = la.answer(llm, "depression", NOTE, task_heads=reliable, encoder=encoder)
    assert strong["disagreement"] is True and strong["llm"]["shown"] is True
    assert any("disagree" in n for n in strong["notes"])
    base = {"kind": "llm", "outputs": {"label": "yes", "probabilities": {"yes": 0.9, "no": 0.1}}}
    flagged = {"kind": "llm", "outputs": {**base["outputs"], "disagreement": True}}
    unflagged = {"kind": "llm", "outputs": {**base["outputs"], "disagreement": False}}
    assert priority_of(flagged, False) == priority_of(base, False) + DISAGREEMENT_PRIORITY
    assert priority_of(unflagged, False) == priority_of(base, False)


def test_head_reliability_notes_fire_on_weak_recorded_evaluations():
    from types import SimpleNamespace

    evaluation = {"datasets": {
        "DR": {"n": 405, "tasks": ["depression"], "weighted_f1": 0.89, "majority": 0.65, "auroc": 0.95,
               "ece_after": 0.03, "beats_both_baselines": True},
        "Irf": {"n": 2113, "tasks": ["irf_perceived_burdensomeness"], "weighted_f1": 0.70, "majority": 0.58,
                "auroc": 0.62, "ece_after": 0.04, "beats_both_baselines": True},
        "SAD": {"n": 684, "tasks": ["stress_cause"], "weighted_f1": 0.10, "majority": 0.11,
                "ece_after": 0.04, "beats_both_baselines": False}}}
    heads = SimpleNamespace(evaluation=evaluation)
    assert la.head_reliability(heads, "depression")["reliable"] is True
    assert "AUROC 0.95" in la.head_reliability(heads, "depression")["summary"]
    irf = la.head_reliability(heads, "irf_perceived_burdensomeness")
    assert irf["note"] == ("On the IMHI Irf test set (2113 texts) the task head ranks posts at AUROC 0.62 (below "
                           "0.65): treat its label as unreliable.")
    sad = la.head_reliability(heads, "stress_cause")
    assert sad["note"] == ("On the IMHI SAD test set (684 texts) the task head scores weighted F1 0.10, not above the "
                           "baselines (majority class 0.11): treat its label as unreliable.")
    assert "not clinical notes" in la.head_reliability(heads, "depression")["summary"]
    assert la.head_reliability(heads, "stress") == {"reliable": False, "note": la.NOT_EVALUATED}


def test_llm_notes_fire_on_low_auroc_not_only_on_missed_baselines(tmp_path):
    import json

    from core.llm.model import reliable_tasks_from, weak_tasks_from

    path = tmp_path / "evaluation.json"
    path.write_text(json.dumps({"datasets": {
        "DR": {"n": 100, "tasks": ["depression"], "beats_both_baselines": False, "adapted_scored": 0.64,
               "majority": 0.66, "base_scored": 0.61, "adapted_margin_auroc": 0.46},
        "dreaddit": {"n": 100, "tasks": ["stress"], "beats_both_baselines": True, "adapted_scored": 0.5,
                     "majority": 0.39, "adapted_margin_auroc": 0.51},
        "SAD": {"n": 100, "tasks": ["stress_cause"], "beats_both_baselines": True, "adapted_scored": 0.27,
                "majority": 0.11},
        "Irf": {"n": 100, "tasks": ["irf_thwarted_belongingness"], "beats_both_baselines": True,
                "adapted_scored": 0.8, "majority": 0.5, "adapted_margin_auroc": 0.81}}}))
    weak = weak_tasks_from(path)
    assert set(weak) == {"depression", "stress", "stress_cause"}
    assert "AUROC 0.51" in weak["stress"] and "not measured" in weak["stress_cause"]
    assert reliable_tasks_from(path) == {"irf_thwarted_belongingness"}


def test_the_shipped_adapter_is_not_a_reliable_second_reading_on_any_task():
    from core.llm.model import reliable_tasks_from, weak_tasks_from
    from tests._llm_fixture import SHIPPED_ADAPTER

    path = SHIPPED_ADAPTER / "evaluation.json"
    assert reliable_tasks_from(path) == set()
    assert {"depression", "stress", "stress_cause", "irf_perceived_burdensomeness",
            "wellness_social"} <= set(weak_tasks_from(path))
