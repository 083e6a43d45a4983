"""Claims that the note contradicts: negation, deficits and engagement, in several phrasings."""

import pytest

from core.llm.polarity import contradiction

CONTRADICTED = [
    # negation cues before the claimed finding
    ("The patient shows suicidal ideation.", "Patient denies suicidal ideation."),
    ("The patient is experiencing suicidal thoughts.", "She denied any suicidal thoughts or plans."),
    ("The patient shows suicidal ideation.", "Denies SI, HI or AH/VH."),
    ("He is drinking alcohol heavily.", "No alcohol use since March."),
    ("The patient hears voices.", "He does not hear voices and is not paranoid."),
    ("She has had panic attacks.", "She has never had a panic attack."),
    ("The patient self-harms.", "Negative for self harm."),
    ("The patient reports nightmares.", "Sleeping without nightmares now."),
    ("The poster has a plan to end their life.", "There is no plan to end her life."),
    # the claim negates what the note states
    ("The patient does not have a plan.", "She has a plan to overdose on her tablets."),
    ("There is no mention of sleep problems.", "Sleep problems every night this week."),
    # deficits ("poor", "low", "lost") against their opposite
    ("Sleep has improved.", "Sleep remains poor."),
    ("The patient reports low mood.", "Mood is good and she is hopeful."),
    ("The patient reports low mood.", "She denies low mood."),
    ("He has lost interest in his hobbies.", "He enjoys his hobbies again."),
    # engagement against withdrawal / depressed mood
    ("Her social withdrawal is consistent with depression.", "Started volunteering, sees sister weekly."),
    ("The patient is isolating from others.", "Lives alone but goes out with friends every Friday."),
    ("These details are consistent with depression.", "She has joined a choir and enjoys it."),
    ("The poster feels lonely and withdrawn.", "Spends time with her family most evenings."),
]

CONSISTENT = [
    ("The patient denies suicidal ideation.", "Denies suicidal ideation."),
    ("The patient reports suicidal thoughts.", "Reports suicidal thoughts most nights."),
    ("The poster reports insomnia lasting weeks.", "I haven't slept properly in weeks."),
    ("The poster has trouble sleeping.", "She hasn't been sleeping well."),
    ("He has lost interest in his hobbies.", "He no longer enjoys his hobbies."),
    ("They describe pressure and conflict at work.", "Work keeps piling up and my boss yells at me every day."),
    ("The patient reports anxiety.", "Without any hallucinations, she reports anxiety."),
    ("The patient is isolating from others.", "She stopped seeing her friends."),
    ("The poster shows signs of depression.", "He no longer volunteers and has not enjoyed anything for months."),
    ("The patient reports low mood.", "Mood low, appetite poor."),
    ("The poster mentions a recent divorce.", "My cat is orange."),
    ("Sleep is poor, but she denies suicidal ideation.", "Poor sleep; denies suicidal ideation."),
]


@pytest.mark.parametrize("claim,sentence", CONTRADICTED)
def test_contradicted(claim, sentence):
    assert contradiction(claim, sentence), (claim, sentence)


@pytest.mark.parametrize("claim,sentence", CONSISTENT)
def test_not_contradicted(claim, sentence):
    assert contradiction(claim, sentence) is None, (claim, sentence, contradiction(claim, sentence))


def test_a_negation_stays_in_its_clause():
    # "no" governs the appetite clause only; the sleep clause after "but" is affirmed.
    assert contradiction("She reports poor sleep.", "No change in appetite, but poor sleep.") is None
    assert contradiction("She reports a change in appetite.", "No change in appetite, but poor sleep.")


def test_the_reason_names_the_words_of_the_note():
    assert "suicidal" in contradiction("The patient shows suicidal ideation.", "Patient denies suicidal ideation.")
    assert "volunteering" in contradiction("Consistent with depression.", "Started volunteering, sees sister weekly.")


@pytest.mark.parametrize("claim, note", [
    ("However, they do not mention other signs of stress, such as staying in bed most days or feeling exhausted.",
     "Has stopped seeing friends, stays in bed most days, feels empty and tense at work."),
    ("The poster doesn't mention family support.", "Her family is very supportive and visits often."),
    ("There is no description of panic at night.", "Wakes with panic at night twice a week."),
    ("He never describes drinking alone, which suggests stable habits.", "Most evenings he is drinking alone."),
])
def test_a_claim_that_the_note_is_silent_is_contradicted_when_the_note_says_it(claim, note):
    why = contradiction(claim, note)
    assert why is not None and ("mention" in why or "opposite" in why)


@pytest.mark.parametrize("claim, note", [
    ("The note does not mention suicidal thoughts.", "Denies suicidal thoughts."),  # mentioned only as denied
    ("They do not mention sleep problems.", "Enjoys her job and sees her sister weekly."),
    ("The patient does not mention work stress.", "Work has been fine, no stress there."),
    ("They do not mention staying in bed.", "Gets up early and walks the dog."),
])
def test_a_claim_of_silence_stands_when_the_note_is_silent_or_denies_it(claim, note):
    assert contradiction(claim, note) is None
