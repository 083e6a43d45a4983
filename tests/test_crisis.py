import pytest

from core.crisis import IDEATION, PLAN, SELF_HARM, detect_crisis


@pytest.mark.parametrize("text,category", [
    ("She has been having suicidal thoughts every night.", IDEATION),
    ("I want to kill myself.", IDEATION),
    ("I don't want to live anymore.", IDEATION),
    ("Honestly there is no reason to live.", IDEATION),
    ("He says everyone would be better off dead without him.", IDEATION),
    ("Admits to cutting her wrists last weekend.", SELF_HARM),
    ("Ongoing self-harm by burning.", SELF_HARM),
    ("Has been stockpiling pills and wrote a goodbye note.", PLAN),
    ("Took an overdose in March.", PLAN),
    # misspellings
    ("been having sucidal thoughts", IDEATION),
    ("thinking about an overdoze", PLAN),
    ("suicidial ideation reported", IDEATION),
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
