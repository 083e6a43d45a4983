import pytest

from core.safety.crisis import IDEATION, OTHER_SUICIDE, PLAN, PREPARATORY, SELF_HARM, detect_crisis


@pytest.mark.parametrize("text,category", [
    ("She has been having suicidal thoughts every night.", IDEATION),
    ("I want to kill myself.", IDEATION),
    ("I don't want to live anymore.", IDEATION),
    ("Honestly there is no reason to live.", IDEATION),
    ("He says everyone would be better off dead without him.", IDEATION),
    ("Admits to cutting her wrists last weekend.", SELF_HARM),
    ("Ongoing self-harm by burning.", SELF_HARM),
    ("Has been stockpiling pills and wrote a goodbye note.", PREPARATORY),
    ("Took an overdose in March.", PLAN),
    # misspellings
    ("been having sucidal thoughts", IDEATION),
    ("thinking about an overdoze", PLAN),
    ("suicidial ideation reported", IDEATION),
    ("I wanna kil myself", IDEATION),
    # third person and past tense, as clinicians write them
    ("She wants to die.", IDEATION),
    ("He wishes he were dead.", IDEATION),
    ("Says she would rather be dead than go back.", IDEATION),
    ("Keeps saying he wants to just die.", IDEATION),
    # a negation cue earlier in the sentence that does not reach the phrase
    ("No appetite, says she wants to kill herself.", IDEATION),
    ("Has no friends and has a plan to overdose.", PLAN),
    ("No appetite, poor sleep, suicidal thoughts daily.", IDEATION),
    ("Not eating, wants to die.", IDEATION),
    ("Denies SI and has a plan to jump off the bridge.", PLAN),
    ("Never had therapy before; reports thoughts of dying.", IDEATION),
])
def test_flags_crisis_language(text, category):
    result = detect_crisis(text)
    assert result.flagged, text
    assert category in result.categories


@pytest.mark.parametrize("text", [
    "Denies suicidal ideation or thoughts of self-harm.",
    "Patient is not suicidal.",
    "No thoughts of self-harm; denies any plan or intent.",
    "Negative for suicidal ideation.",
    "No suicdal thoughts.",
    "Denies SI, self-harm, or thoughts of dying.",
    "She does not want to die; she wants her life back.",
    "Patient never wished to be dead.",
    "Negative for suicidal ideation, self-harm or overdose.",
    "Mood improved, successful week at work, sleeping well.",
    "Discussed the plan for next week's exposure homework.",
    "",
])
def test_does_not_flag_negated_or_unrelated_text(text):
    assert not detect_crisis(text).flagged, text


def test_negation_stops_at_clause_boundary():
    result = detect_crisis("Denies SI but cut herself last week.")
    assert result.flagged and result.categories == [SELF_HARM]
    negated = [m for m in result.matches if m.negated]
    assert negated and negated[0].phrase == "SI"


def test_match_offsets_point_into_the_original_text():
    text = "Session 3. Reports SUICIDAL thoughts."
    [m] = detect_crisis(text).active
    assert text[m.start:m.end] == "SUICIDAL"
