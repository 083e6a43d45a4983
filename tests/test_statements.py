"""Yes/no labels stated in the forms models write them (core/llm/statements.py via parse_response)."""

import pytest

from core.llm.parsing import parse_response


@pytest.mark.parametrize("task, text, label", [
    # the claim without the yes/no word, before "Reasoning:"
    ("stress", "The poster does not suffer from stress. Reasoning: A quiet week of gardening.", "no"),
    ("stress", "The poster is suffering from stress. Reasoning: Three deadlines at once.", "yes"),
    ("depression", "The user appears not to suffer from depression. Reasoning: Plans a trip.", "no"),
    ("depression", "The author clearly suffers from severe depression. Reasoning: Sleeps all day.", "yes"),
    ("irf_perceived_burdensomeness", "The post doesn't show this risk. Reasoning: Feels valued.", "no"),
    ("wellness_vocational", "This wellness dimension exists in the post. Reasoning: New job.", "yes"),
    # prefixes and markup before the answer
    ("stress", "Answer: **No**, the poster does not suffer from stress. Reasoning: Relaxed.", "no"),
    ("depression", "Label: yes. Reasoning: Hopeless about the future.", "yes"),
    ("stress", "Based on the post, yes, the poster suffers from stress. Reasoning: Rent is late.", "yes"),
    # "no doubt" is not a "no"
    ("depression", "No doubt the poster suffers from depression. Reasoning: Empty every day.", "yes"),
    # the label stated only as the reasoning's conclusion
    ("stress", "Reasoning: Exams and a sick parent. Therefore, the poster suffers from stress.", "yes"),
    ("stress", "Reasoning: Calm tone. In conclusion, no, the poster does not suffer from stress.", "no"),
    ("depression", "Reasoning: Enjoys football again. So the answer is no.", "no"),
    ("wellness_social", 'Reasoning: Talks of friends. The label of "Yes" is appropriate.', "yes"),
])
def test_stated_forms_are_read(task, text, label):
    r = parse_response(task, text)
    assert (r["label"], r["label_source"], r["parse_ok"]) == (label, "stated", True)


@pytest.mark.parametrize("task, text", [
    ("stress", "It is unclear whether the poster suffers from stress. Reasoning: Mixed signals."),  # no claim
    ("stress", "Does the poster suffer from stress? Reasoning: Hard to say."),  # a question
    ("stress", "Yes, the poster does not suffer from stress. Reasoning: x"),  # contradicts itself
    ("stress", "Reasoning: Busy month. Therefore, the poster may be suffering from stress."),  # hedged
    ("depression", "Reasoning: Her brother suffers from depression. She visits him."),  # someone else
    ("depression", "Reasoning: Mixed. The poster suffers from depression. Overall, the poster does not suffer "
                   "from depression."),  # the reasoning states both
    ("depression", "Reasoning: No one called this week. The poster feels alone."),  # "No" opens a phrase
])
def test_no_statement_gives_no_label(task, text):
    r = parse_response(task, text)
    assert r["label"] is None and r["parse_ok"] is False


def test_a_stated_label_still_wins_over_the_reasoning():
    r = parse_response("stress", "No, the poster does not suffer from stress. Reasoning: Deadlines pile up, so the "
                                 "poster suffers from stress.")
    assert (r["label"], r["stated_at"]) == ("no", "before Reasoning")
