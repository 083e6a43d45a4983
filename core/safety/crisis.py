"""Deterministic crisis-language detection, independent of every model.

A low model score must never hide a note that speaks of suicide or self-harm,
so this runs on every visit text with plain rules:

* phrase patterns for suicidal ideation, self-harm and intent/plan;
* tolerance for common misspellings of the key words (edit distance 1-2 on
  words of 6+ letters, e.g. "sucide", "suicdal", "overdoze");
* negation: a cue such as "denies", "no", "not", "never", "without" before the
  phrase in the same clause cancels it ("denies suicidal ideation"). Its reach
  is kept short, because over-reaching negation hides disclosures:
  - the clause ends at "but", "however", ";" or a sentence end, so "denies SI
    but cut herself last week" still flags the self-harm;
  - reported speech starts afresh: "no appetite, says she wants to die";
  - a bare "no"/"not"/"never"/"without" stops at a comma ("no appetite, poor
    sleep, suicidal thoughts daily"), while list negators ("denies",
    "negative for", "free of") cover a comma-separated list;
  - a new predicate after "and" or a comma is not negated ("has no friends
    and has a plan to overdose").
  Phrases that carry their own negation ("don't want to live", "no reason to
  live") are never cancelled.

Over-flagging is the safe failure: a clinician dismisses a banner in a second,
a missed disclosure can cost a life.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

IDEATION, SELF_HARM, PLAN = "suicidal ideation", "self-harm", "intent or plan"

# (category, pattern). Patterns run on lower-cased text with misspellings normalised.
_PATTERNS: list[tuple[str, str]] = [
    (IDEATION, r"\bsuicid(?:e|al|ality)\b"),
    (IDEATION, r"\b(?:kill|kills|killed|killing|end|ends|ended|ending|take|takes|took|taking)\s+"
               r"(?:my|his|her|their)\s*(?:own\s+)?(?:self|life)\b"),
    # "kil" catches the common one-letter misspelling; "unalive" is the social-media euphemism.
    (IDEATION, r"\b(?:kil+(?:s|e?d|l?ed|l?ing)?|unalive)\s+(?:my|him|her|them)sel(?:f|ves)\b"),
    (IDEATION, r"\b(?:wants?|wanted|wanting|wish(?:es|ed|ing)?)\s+(?:to\s+)?(?:just\s+)?"
               r"(?:die|be dead|disappear forever)\b"),
    (IDEATION, r"\bwish(?:es|ed|ing)?\s+(?:i|he|she|they)\s+(?:was|were|had)\s+(?:dead|died|never been born)\b"),
    (IDEATION, r"\b(?:would|'d)\s+rather\s+(?:be\s+dead|die)\b"),
    (IDEATION, r"\bwanna\s+die\b"),
    (IDEATION, r"\bbetter off dead\b"),
    (IDEATION, r"\bend(?:ing)?\s+it\s+all\b"),
    (IDEATION, r"\bnot\s+wake\s+up\b"),
    (IDEATION, r"\b(?:don'?t|do not|didn'?t)\s+want\s+to\s+(?:live|be alive|be here anymore|wake up)\b"),
    (IDEATION, r"\bno\s+(?:reason|point)\s+(?:to|in)\s+(?:live|living|going on)\b"),
    (IDEATION, r"\bthoughts?\s+of\s+(?:death|dying)\b"),
    (IDEATION, r"\b(?:si|s/i)\b(?=[\s,.;:)]|$)"),
    (SELF_HARM, r"\bself[-\s]?harm(?:ing|ed)?\b"),
    (SELF_HARM, r"\b(?:cut|cutting|burn|burning|hurt|hurting|harm|harming)\s+(?:my|him|her|them)sel(?:f|ves)\b"),
    (SELF_HARM, r"\b(?:cut|cutting|slit|slitting)\s+(?:my|his|her|their)\s+(?:arms?|wrists?|legs?|thighs?|skin)\b"),
    (SELF_HARM, r"\b(?:cut|cutting|slit|slitting)\s+(?:the|their|her|his|my)?\s*(?:arms?|wrists?)\b"),
    (PLAN, r"\b(?:have|has|had|made|making)\s+a\s+plan\b"),
    (PLAN, r"\boverdos(?:e|ed|ing)\b"),
    (PLAN, r"\b(?:stockpil\w*|sav(?:ed|ing)\s+up)\s+(?:pills|tablets|medication)\b"),
    (PLAN, r"\bbought\s+(?:a\s+)?(?:rope|pills|a gun|a knife)\b"),
    (PLAN, r"\bhang(?:ing)?\s+(?:my|him|her|them)sel(?:f|ves)\b"),
    (PLAN, r"\b(?:suicide|goodbye)\s+note\b"),
    (PLAN, r"\b(?:looked|looking|searched|searching)\s+up\s+(?:ways|how)\s+to\s+(?:die|kill)\b"),
    (PLAN, r"\bjump(?:ing)?\s+(?:off|in front of)\b"),
]
_COMPILED = [(cat, re.compile(p)) for cat, p in _PATTERNS]

# Phrases whose meaning already includes the negation: never cancelled by a cue.
_SELF_NEGATING = re.compile(r"\b(?:don'?t|do not|didn'?t)\s+want\s+to\s+(?:live|be alive|be here|wake)|\bno\s+(?:reason|point)\s+")

_NEGATION_CUES = re.compile(
    r"\b(?:denie[sd]|deny|denying|no|not|never|without|negative\s+for|nor|free\s+of|absence\s+of|"
    r"doesn'?t|does\s+not|didn'?t|did\s+not|isn'?t|is\s+not|wasn'?t|n't)\b"
)
_CLAUSE_BREAK = re.compile(r"[.;!?\n]|\bbut\b|\bhowever\b|\balthough\b|\bthough\b|\bexcept\b")
# Reported speech and a change of time start a new statement that an earlier cue does not reach.
_FRESH_START = re.compile(
    r"\b(?:says?|said|reports?|reported|states?|stated|admits?|admitted|endorses?|endorsed|describes?|described|"
    r"tells?|told|expresse[sd]|disclose[sd]|now|yet|still|today|currently)\b"
)
# Cues that negate a whole comma-separated list ("denies SI, self-harm, or plan").
_LIST_CUES = re.compile(r"\b(?:denie[sd]|deny|denying|negative\s+for|free\s+of|absence\s+of)\b")
# First words of phrases that name a thing; any other first word starts a predicate ("has a plan").
_NOUN_STARTS = {"suicidal", "suicide", "suicidality", "self-harm", "self", "selfharm", "thoughts", "thought", "si",
                "s/i", "overdose", "overdoses", "goodbye", "better"}

# Key words with their common misspellings caught by edit distance.
_KEYWORDS = {"suicide": IDEATION, "suicidal": IDEATION, "overdose": PLAN, "overdosed": PLAN,
             "self-harm": SELF_HARM, "selfharm": SELF_HARM}


@dataclass(frozen=True)
class CrisisMatch:
    category: str
    phrase: str
    start: int
    end: int
    negated: bool


@dataclass
class CrisisResult:
    matches: list[CrisisMatch] = field(default_factory=list)

    @property
    def active(self) -> list[CrisisMatch]:
        return [m for m in self.matches if not m.negated]

    @property
    def flagged(self) -> bool:
        return bool(self.active)

    @property
    def categories(self) -> list[str]:
        return sorted({m.category for m in self.active})


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein (optimal string alignment), stopping early past ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2, prev = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if prev2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def _fuzzy_keywords(lowered: str) -> list[tuple[str, int, int]]:
    """Misspelt key words ("sucidal", "overdoze") as (category, start, end)."""
    hits = []
    for match in re.finditer(r"[a-z][a-z\-]{4,}", lowered):
        word = match.group(0)
        if word in _KEYWORDS:
            continue  # exact words are the patterns' job
        for key, category in _KEYWORDS.items():
            limit = 1 if len(key) < 8 else 2
            if word[0] == key[0] and _edit_distance(word, key, limit) <= limit:
                hits.append((category, match.start(), match.end()))
                break
    return hits


def _negated(text: str, start: int, phrase: str) -> bool:
    if _SELF_NEGATING.match(phrase):
        return False
    clause_start = 0
    for m in _CLAUSE_BREAK.finditer(text, 0, start):
        clause_start = m.end()
    for m in _FRESH_START.finditer(text, clause_start, start):
        clause_start = m.end()
    # Only cues within about eight words of the phrase count ("denies any thoughts of ...").
    window = " ".join(text[clause_start:start].split()[-8:])
    cues = list(_NEGATION_CUES.finditer(window))
    if not cues:
        return False
    cue = cues[-1]
    between = window[cue.end():]
    if "," in between and not _LIST_CUES.search(window[:cue.end()]):
        return False
    first = phrase.split()[0] if phrase.split() else ""
    if first not in _NOUN_STARTS and re.search(r"(?:,|\band|\bor|\bthen)\s*$", between):
        return False
    return True


def detect_crisis(text: str) -> CrisisResult:
    """Find crisis language in ``text``; negated mentions are kept but marked."""
    if not text:
        return CrisisResult()
    norm = text.lower().replace("\u2019", "'")
    spans = [(cat, m.start(), m.end()) for cat, pattern in _COMPILED for m in pattern.finditer(norm)]
    spans += _fuzzy_keywords(norm)
    found: dict[tuple[int, int], CrisisMatch] = {}
    for category, start, end in spans:
        if any(s <= start and end <= e for s, e in found):
            continue
        found[(start, end)] = CrisisMatch(category, text[start:end], start, end,
                                          _negated(norm, start, norm[start:end]))
    return CrisisResult(sorted(found.values(), key=lambda c: c.start))


CRISIS_RESOURCES = [
    "If there is immediate danger, call local emergency services (112 in the EU, 911 in the US, 999 in the UK).",
    "US: 988 Suicide & Crisis Lifeline (call or text 988). UK & Ireland: Samaritans 116 123.",
    "Follow your service's suicide-risk protocol: assess risk directly, review the safety plan, "
    "and document the assessment.",
]
