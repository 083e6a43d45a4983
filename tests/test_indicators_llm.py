"""The emotion question per sentence, answered by label scoring: stored once, consent, provenance."""

from __future__ import annotations

import pytest

from core.clinical import patients

NOTE = "I cried all night. I am scared of the appointment. My sister made me laugh at dinner."


@pytest.fixture
def psy(settings, store, users):
    from core.context import Context

    return Context(settings=settings, store=store, user=users["psy"])


def _check(out: dict, note: str) -> None:
    labels = {"sadness", "fear", "anger", "joy", "neutral"}
    assert [note[a:b] for a, b, _, _ in out["sentences"]] == ["I cried all night.", "I am scared of the appointment.",
                                                             "My sister made me laugh at dinner."]
    for _, _, label, probs in out["sentences"]:
        assert set(probs) == labels and label == max(probs, key=probs.get)
        assert sum(probs.values()) == pytest.approx(1.0, abs=1e-4)
    assert sum(out["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    assert out["prompt_version"] == "emotion-1"


def test_each_sentence_is_scored_and_stored_once(psy, tmp_path):
    from core.clinical import analysis
    from core.llm.model import load_llm
    from tests._llm_fixture import tiny_settings

    llm = load_llm(tiny_settings(tmp_path))
    pid = patients.create_patient(psy, "P-1", consent_ml=True)
    vid = patients.add_visit(psy, pid, "2026-01-05", NOTE)
    seen = []
    row = analysis.run_sentence_emotions(psy, vid, llm, progress=lambda d, t: seen.append((d, t)))
    assert row["kind"] == "emotion" and seen[-1] == (3, 3)
    _check(row["outputs"], NOTE)
    again = analysis.run_sentence_emotions(psy, vid, llm, progress=lambda d, t: seen.append("ran again"))
    assert again["id"] == row["id"] and "ran again" not in seen


def test_no_consent_no_model(psy, tmp_path):
    from core.clinical import analysis
    from core.errors import ConsentRequired

    pid = patients.create_patient(psy, "P-1", consent_ml=False)
    vid = patients.add_visit(psy, pid, "2026-01-05", NOTE)
    with pytest.raises(ConsentRequired):
        analysis.run_sentence_emotions(psy, vid, llm=object())


@pytest.mark.slow
def test_embedded_model_answers_the_emotion_question_and_says_it_was_not_tuned_on_it():
    from core.llm.emotion import sentence_emotions
    from tests._llm_fixture import embedded_llm

    llm = embedded_llm()
    spans, pos = [], 0
    for sentence in ("I cried all night.", "I am scared of the appointment.", "My sister made me laugh at dinner."):
        start = NOTE.index(sentence, pos)
        spans.append((start, start + len(sentence)))
        pos = start + len(sentence)
    out = sentence_emotions(llm, NOTE, spans)
    _check(out, NOTE)
    assert any("not tuned" in n for n in out["notes"])
