"""AppTest of the visit view with task-head answers: the head's label and probability with its reliability note at
the same weight, what the label rests on (highlighted in the note), the LLM text below it labelled as generated,
and the warning style for a task whose recorded evaluation is weak."""

from __future__ import annotations

import pytest

from core.clinical import patients
from tests.test_pages_clinical import texts

NOTE = ("The client attended on time. She works at a bakery. "
        "She says she has felt worthless and hopeless every day for months and wishes she could disappear. "
        "The weather was mild.")
RATIONALE = "The poster describes hopelessness lasting months."


@pytest.fixture(scope="module")
def head_outputs():
    """A depression answer as core.labels.answer builds it from the shipped task heads (real occlusion
    on the real encoder); the LLM part is filled in by hand (its text is not what is tested here)."""
    from core.labels import answer
    from core.models.encoder import load_encoder
    from core.models.task_heads import load_task_heads
    from core.settings import load_settings

    settings = load_settings(env={})
    enc = load_encoder(settings)
    heads = load_task_heads(settings, enc)
    out = answer(None, "depression", NOTE, task_heads=heads, encoder=enc)
    out.update(rationale=RATIONALE, notes=[], model_id="embedded:SmolLM2-135M-Instruct",
               model_version="embedded:SmolLM2-135M-Instruct+lora@abc",
               llm={"label": "no", "probabilities": {"yes": 0.4, "no": 0.6}, "reliable": False, "shown": False,
                    "note": "weak"})
    return out


def _store(app_env, outputs: dict) -> tuple[int, int]:
    from core.storage import records

    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-1", consent_ml=True)
    vid = patients.add_visit(ctx, pid, "2026-01-05", NOTE)
    aid = records.insert_analysis(app_env.store, visit_id=vid, kind="llm", task=outputs["task"], outputs=outputs,
                                  model_id=outputs["model_id"], model_version=outputs["model_version"],
                                  prompt_version="imhi-1", cache_key="k", created_by=app_env.users["psy"].id,
                                  label_source=outputs.get("label_source", ""),
                                  label_model_version=outputs.get("label_model_version", ""))
    return pid, aid


@pytest.mark.slow
def test_visit_shows_the_head_label_what_it_rests_on_and_the_llm_text_below(app_env, head_outputs):
    pid, aid = _store(app_env, head_outputs)
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not at.exception
    shown = texts(at)
    p = head_outputs["probabilities"]["yes"]
    version = head_outputs["label_model_version"]
    from core.models.reliability import probability_phrase

    assert f"**Depression: yes** · model probability {probability_phrase(p)} · label from the task head `{version}`" \
        in shown
    assert "**What the label rests on**" in shown
    top = head_outputs["faithful_evidence"]["sentences"][0]
    assert f"- “{top['text']}” — without it, p(yes) falls by {top['drop']:.2f}" in shown
    [note] = [m.value for m in at.markdown if m.value.startswith("<div style='white-space:pre-wrap")]
    # green in the note (crisis language inside the sentence keeps its own red mark, so check the sentence's start)
    assert "class='mhd-basis'" in note and top["text"][:30] in note
    # the evidence comes first, the LLM text after it, labelled as generated
    order = [m.value for m in at.markdown]
    rests = next(i for i, v in enumerate(order) if v.startswith("**What the label rests on**"))
    generated = next(i for i, v in enumerate(order) if v.startswith("*Generated text (language model"))
    assert rests < generated
    assert RATIONALE in [t.value for t in at.text]
    # the LLM's own label is not shown: its recorded evaluation is not reliable
    assert "LLM reading" not in shown
    # reliability of the head beside the probability bar, from its recorded evaluation
    rel = head_outputs["reliability"]
    box = [w.value for w in at.warning] if rel["reliable"] is False else [i.value for i in at.info]
    assert (rel["note"] or rel["summary"]) in box
    assert f"Label: task head `{version}`" in shown


@pytest.mark.slow
def test_a_weak_task_shows_its_warning_next_to_the_label_not_in_grey(app_env, head_outputs):
    weak_note = ("On the IMHI DR test set (405 texts) the task head ranks posts at AUROC 0.60 (below 0.65): "
                 "treat its label as unreliable.")
    outputs = {**head_outputs, "reliability": {"reliable": False, "note": weak_note}}
    pid, _ = _store(app_env, outputs)
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not at.exception
    assert weak_note in [w.value for w in at.warning]
    assert weak_note not in [c.value for c in at.caption]


@pytest.mark.slow
def test_a_label_that_turns_on_a_short_line_is_warned_about(app_env, head_outputs):
    fe = dict(head_outputs["faithful_evidence"])
    fe["flips"] = [
        {"text": "Session 1.", "start": 0, "end": 10, "words": 1, "fragment": True, "label_without": "no",
         "probability_without": 0.7},
        {"text": "The weather was mild.", "start": 0, "end": 21, "words": 4, "fragment": False,
         "label_without": "no", "probability_without": 0.6},
    ]
    pid, _ = _store(app_env, {**head_outputs, "faithful_evidence": fe})
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not at.exception
    warning = ("The label changes to **no** if the short line “Session 1.” is deleted. A label that turns on a line "
               "this short is not a stable reading of this note: read the note itself.")
    assert warning in [w.value for w in at.warning]
    assert "Deleting “The weather was mild.” alone changes the label to no." in [c.value for c in at.caption]


@pytest.mark.slow
def test_an_answer_stored_before_flips_were_recorded_shows_no_stability_line(app_env, head_outputs):
    fe = {k: v for k, v in head_outputs["faithful_evidence"].items() if k != "flips"}
    pid, _ = _store(app_env, {**head_outputs, "faithful_evidence": fe})
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not at.exception
    assert not [w.value for w in at.warning if "changes to" in w.value]


@pytest.mark.slow
def test_an_older_llm_answer_with_a_weak_note_shows_it_as_a_warning(app_env):
    weak = ("On the IMHI DR test set (100 posts) this model's labels did not beat the baselines (weighted F1 0.65; "
            "majority class 0.66): treat its label as unreliable.")
    outputs = {"task": "depression", "label": "yes", "probabilities": {"yes": 0.7, "no": 0.3}, "rationale": "r",
               "notes": [weak], "model_id": "m", "model_version": "v", "prompt_version": "imhi-1"}
    pid, _ = _store(app_env, outputs)
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not at.exception
    assert weak in [w.value for w in at.warning] and weak not in [c.value for c in at.caption]
    assert "label from the language model" in texts(at)


@pytest.mark.slow
def test_a_reliable_disagreeing_llm_is_shown_as_a_second_reading_with_a_warning(app_env, head_outputs):
    outputs = {**head_outputs, "disagreement": True,
               "llm": {"label": "no", "probabilities": {"yes": 0.2, "no": 0.8}, "reliable": True, "shown": True,
                       "model_version": "prod-llm"}}
    pid, _ = _store(app_env, outputs)
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not at.exception
    shown = texts(at)
    assert "LLM reading: **no** · p ≈ 0.8 · `prod-llm`" in shown
    assert any("the language model says **no**" in w.value for w in at.warning)


def test_a_probability_is_never_shown_as_certain():
    """A calibrated 0.97 rounded to "≈ 1.0" on a note the head was never measured on read as certainty."""
    from app.widgets import probabilities_chart
    from core.models.reliability import probability_phrase, probability_text

    assert [probability_phrase(p) for p in (0.97, 0.951, 0.949, 0.5, 0.051, 0.03, 1.0, 0.0)] == [
        "> 0.95", "> 0.95", "≈ 0.9", "≈ 0.5", "≈ 0.1", "< 0.05", "> 0.95", "< 0.05"]
    assert list(probabilities_chart({"yes": 0.98, "no": 0.02}).data[0].text) == ["> 0.95", "< 0.05"]
    assert probability_text(0.7) == "0.7"
