"""Reading a yes/no answer's stated label from the ways a model actually states it.

IMHI's template opens with "Yes, ..." or "No, ...", but models also write the
claim without the yes/no word ("The poster does not suffer from stress."), put a
prefix or markup before it ("Answer: **No**, ..."), or state it only as the
conclusion of their reasoning ("Therefore, the poster suffers from stress.").
This module reads those forms for the yes/no tasks, from the task's own label
sentences (the claim "the poster suffers from depression" gives the verb
"suffer" and the object "depression"), so every yes/no task gets the same rules.

What is *not* a statement: a hedge ("may be suffering", "it is unclear whether"),
a question, "no doubt ..." read as "no", and a sentence whose yes/no word and
claim contradict each other ("Yes, the poster does not ..."). Those give None, so
the caller never invents a label. No torch, no model: pure text rules.
"""

from __future__ import annotations

import re
from functools import lru_cache

from core.llm.tasks import Task

# Leading words that introduce a statement without changing it.
_PREFIX_RE = re.compile(
    r"^(?:(?:final\s+)?(?:answer|label|prediction|response|verdict|conclusion)\s*[:\-]\s*"
    r"|(?:based\s+on|given|from)\s+(?:the|this)\s+(?:post|text|information)[^,]{0,40},\s*"
    r"|(?:therefore|thus|hence|so|overall|in\s+conclusion|in\s+summary|to\s+conclude|in\s+short|consequently),?\s+"
    r"|(?:no\s+doubt|without\s+(?:a\s+)?doubt|clearly|indeed|certainly),?\s+)+",
    re.IGNORECASE,
)
# "no doubt", "no wonder", "no question" open affirmative sentences: the leading "no" is not an answer.
_NOT_AN_ANSWER_RE = re.compile(r"^no\s+(?:doubt|wonder|question)\b")
_FIRST_WORD_RE = re.compile(r"^(yes|no)\b(?!\s+(?:doubt|wonder|question)\b)")
_SUBJECT = (r"(?:the|this|that)\s+(?:original\s+)?(?:poster|user|author|writer|person|individual|post|text|op"
            r"|redditor|(?:\w+\s+){0,2}dimension|risk)|op")  # no pronouns: "he" may be someone else
_HEDGE = r"(?:may|might|could|can|would|possibly|perhaps|maybe)\b"
_NEGATION = r"(?:(?:does|do|did|is|are|was)\s+not|doesn't|don't|didn't|isn't|aren't|wasn't|no\s+longer|never)"
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+")
# "the answer is no", 'the label of "Yes" is appropriate'
_ANSWER_IS_RE = re.compile(
    r"\b(?:answer|label)\s+(?:is|would\s+be|should\s+be)\s*:?\s*[\"'“]?(yes|no)\b"
    r"|\blabel\s+(?:of\s+)?[\"'“]?(yes|no)[\"'”]?\s+(?:is|would\s+be)\s+(?:appropriate|correct|right)\b",
    re.IGNORECASE,
)


def _norm(text: str) -> str:
    text = re.sub(r"[*_#`]+", "", text)
    text = re.sub(r"\s+", " ", text).strip().strip("\"'“”‘’ ").strip()
    return _PREFIX_RE.sub("", text).strip().strip("\"'“”‘’ ").lower()


@lru_cache(maxsize=64)
def _claim_pattern(no: str) -> re.Pattern | None:
    """The claim of a task's "no" sentence as a regex: subject, optional hedge or negation, the verb's stem,
    then its object ("No, the post does not show this risk." -> "the post (does not)? show... this ... risk")."""
    m = re.match(r"no,\s+(.*?)\s+(?:does|do|is)\s+not\s+(\w+)\s+(.*?)\.?$", no.strip(), re.IGNORECASE)
    if not m:
        return None
    verb, obj = m.group(2).lower(), m.group(3).lower().split()
    if not obj:
        return None
    stem = verb[:-1] if verb.endswith("e") else verb  # exist -> exist, suffer -> suffer, show -> show
    # object: its first word (a preposition or determiner) and its last word, up to three words between
    head, last = re.escape(obj[0]), re.escape(obj[-1])
    between = r"(?:[\w'-]+\s+){0,3}?" if len(obj) > 1 else ""
    obj_re = rf"{head}\s+{between}{last}" if len(obj) > 1 else head
    return re.compile(
        rf"^(?P<subject>{_SUBJECT})\s+"
        rf"(?P<hedge>{_HEDGE}\s+)?"
        rf"(?P<neg>{_NEGATION}\s+)?"
        rf"(?:(?:clearly|likely|probably|definitely|indeed|also|does|do|is|are)\s+){{0,2}}"
        rf"(?:(?:appears?|seems?)\s+(?P<neg2>not\s+)?to\s+)?(?:be\s+)?"
        rf"(?P<verb>{re.escape(stem)}\w*)\s+{obj_re}\b"
    )


def _claim(task: Task, sentence: str) -> str | None:
    pattern = _claim_pattern(task.label_sentences.get("no", ""))
    m = pattern.match(sentence) if pattern else None
    if not m or m.group("hedge"):
        return None
    return "no" if (m.group("neg") or m.group("neg2")) else "yes"


def stated_yes_no(task: Task, sentence: str) -> str | None:
    """The label one sentence states for a yes/no task, or None when it states none (or contradicts itself)."""
    if set(task.labels) != {"yes", "no"}:
        return None
    text = _norm(sentence)
    if not text or text.endswith("?"):
        return None
    if _NOT_AN_ANSWER_RE.match(text):
        text = _norm(re.sub(r"^no\s+\w+,?\s*", "", text))
    word = _FIRST_WORD_RE.match(text)
    first = word.group(1) if word else None
    rest = _norm(text[word.end():].lstrip(" ,.;:!-")) if word else text
    claim = _claim(task, rest) if rest else None
    if first and claim and first != claim:
        return None  # "Yes, the poster does not ...": no label rather than a guess
    return first or claim


def concluded_yes_no(task: Task, reasoning: str) -> str | None:
    """The label the reasoning itself states in a sentence of its own ("Therefore, the poster suffers from
    stress."), when all such sentences agree; None otherwise."""
    if set(task.labels) != {"yes", "no"} or not reasoning:
        return None
    found = set()
    for sentence in _SENTENCE_END_RE.split(reasoning.strip()):
        text = _norm(sentence)
        word = _FIRST_WORD_RE.match(text)
        if word:  # "Therefore, yes, the poster ...": the yes/no word counts only with a claim that agrees
            claim = _claim(task, _norm(text[word.end():].lstrip(" ,.;:!-")))
            label = claim if claim == word.group(1) else None
        else:
            label = _claim(task, text)
        if label:
            found.add(label)
        for m in _ANSWER_IS_RE.finditer(sentence):
            found.add((m.group(1) or m.group(2)).lower())
    return found.pop() if len(found) == 1 else None
