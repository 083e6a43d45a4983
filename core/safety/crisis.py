"""Deterministic crisis-language detection: the first, high-precision layer, independent of every model.

The parts live in their own modules and are re-exported here: categories (``crisis_categories``),
normalisation (``crisis_normalise``), English phrases (``crisis_rules_en``), slot-built phrase families
(``crisis_rules_families``), Spanish/French/German/Portuguese/Italian (``crisis_rules_intl``) and what keeps a
match from flagging (``crisis_context``).

A low model score must never hide a note that speaks of suicide or self-harm,
so this runs on every visit text with plain rules:

* **normalisation first** (``normalise``): NFKC, accents and zero-width
  characters removed, Unicode look-alikes (Cyrillic/Greek letters inside Latin
  words) mapped to Latin, digits used as letters ("su1c1de") read as letters,
  letter-spaced words ("k i l l myself", "s-u-i-c-i-d-e") joined, runs of a
  repeated letter shortened ("dieeee"). Every normalised character keeps the
  offset of the original character it came from, so matches point into the
  original text;
* phrase patterns for ideation, intent or plan, preparatory acts, past
  attempts and self-harm, in English (with online slang and euphemisms: kms,
  kys, ctb, unalive, sewerslide, ...) and common phrasings in Spanish, French,
  German, Portuguese and Italian;
* tolerance for misspellings of the key words (edit distance 1-2 on words of
  6+ letters, e.g. "sucide", "suicdal", "overdoze") and dropped letters in
  "myself" ("myslf", "mysef");
* negation: a cue such as "denies", "no", "not", "never", "without" before the
  phrase in the same clause, or a charting form after it ("SI: denied"),
  cancels it. Its reach is kept short, because over-reaching negation hides
  disclosures:
  - the clause ends at "but", "however", ";" or a sentence end, so "denies SI
    but cut herself last week" still flags the self-harm;
  - reported speech starts afresh: "no appetite, says she wants to die";
  - a bare "no"/"not"/"never"/"without" stops at a comma, while list negators
    ("denies", "negative for", "free of") cover a comma-separated list;
  - a new predicate after "and" or a comma is not negated.
  Phrases that carry their own negation ("don't want to live", "no reason to
  live") are never cancelled;
* contrast: the bare word "suicide" in prevention, awareness, statistics or
  media context ("suicide prevention training", "a film about suicide") is
  kept as considered, not flagged;
* someone else's completed suicide ("her uncle died by suicide", "his father
  took his own life") is a risk factor, not the patient's ideation: it gets its
  own category, ``OTHER_SUICIDE``, which the dashboard shows as a calm notice.

Over-flagging is the safe failure: a clinician dismisses a banner in a second,
a missed disclosure can cost a life.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.safety.crisis_categories import (  # noqa: F401
    ATTEMPT,
    CRISIS_CATEGORIES,
    IDEATION,
    OTHER_SUICIDE,
    PLAN,
    PREPARATORY,
    SELF_HARM,
)
from core.safety.crisis_context import (
    CONTRAST_CONTEXT,
    IDIOM_AFTER,
    NOT_COMPLETED,
    OTHER_SUICIDE_PHRASE,
    SERVICE_NOUNS,
    clinical_si,
    fuzzy_keywords,
    is_negated,
    media_context,
    others_overdose,
    reunion_wishes,
    sentence_bounds,
)
from core.safety.crisis_normalise import normalise  # noqa: F401  (public: core.safety.crisis.normalise)
from core.safety.crisis_rules_en import PATTERNS_EN
from core.safety.crisis_rules_families import PATTERNS_FAMILIES
from core.safety.crisis_rules_intl import PATTERNS_INTL

_COMPILED = [(cat, re.compile(p)) for cat, p in PATTERNS_EN + PATTERNS_FAMILIES + PATTERNS_INTL]


@dataclass(frozen=True)
class CrisisMatch:
    category: str
    phrase: str
    start: int
    end: int
    negated: bool          # True when the match does not flag: negated, contrast context or someone else's suicide
    reason: str = ""       # why it does not flag ("negated", "contrast", "risk factor"), empty when it flags
    layer: str = "rule"
    score: float | None = None


@dataclass
class CrisisResult:
    matches: list[CrisisMatch] = field(default_factory=list)

    @property
    def active(self) -> list[CrisisMatch]:
        return [m for m in self.matches if not m.negated]

    @property
    def risk_factors(self) -> list[CrisisMatch]:
        return [m for m in self.matches if m.reason == "risk factor"]

    @property
    def considered(self) -> list[CrisisMatch]:
        return [m for m in self.matches if m.negated and m.reason != "risk factor"]

    @property
    def flagged(self) -> bool:
        return bool(self.active)

    @property
    def categories(self) -> list[str]:
        return sorted({m.category for m in self.active})


def detect_crisis(text: str) -> CrisisResult:
    """Find crisis language in ``text`` with the rules; negated, contrast and risk-factor matches are kept, marked."""
    if not text or not isinstance(text, str):
        return CrisisResult()
    norm, where = normalise(text)
    if not norm:
        return CrisisResult()

    def orig(start: int, end: int) -> tuple[int, int]:
        return where[start], where[end - 1] + 1

    found: dict[tuple[int, int], CrisisMatch] = {}
    taken: list[tuple[int, int]] = []
    # Someone else's completed suicide first: it claims its span before the ideation patterns see it.
    for m in OTHER_SUICIDE_PHRASE.finditer(norm):
        if NOT_COMPLETED.search(norm[max(0, m.start() - 40):m.start()]):
            continue
        s, e = orig(m.start(), m.end())
        found[(s, e)] = CrisisMatch(OTHER_SUICIDE, text[s:e], s, e, True, "risk factor")
        taken.append((m.start(), m.end()))
    spans = [(cat, m.start(), m.end()) for cat, pattern in _COMPILED for m in pattern.finditer(norm)]
    spans += fuzzy_keywords(norm)
    spans += reunion_wishes(norm)
    spans.sort(key=lambda sp: (sp[1], -(sp[2] - sp[1])))
    for category, start, end in spans:
        if any(s <= start < e or s < end <= e for s, e in taken):
            continue
        if norm[start:end] in ("si", "s/i") and not clinical_si(text, norm, *orig(start, end), start, end):
            continue  # "si" is also Spanish/Italian/French for "if"/"yes"
        taken.append((start, end))
        phrase = norm[start:end]
        negated = is_negated(norm, start, end, phrase)
        reason = "negated" if negated else ""
        if not negated and SERVICE_NOUNS.fullmatch(phrase):
            ls, le = sentence_bounds(norm, start, end)
            if CONTRAST_CONTEXT.search(norm, ls, le):
                negated, reason = True, "contrast"
        if not negated and (media_context(norm, start, end) or IDIOM_AFTER.match(norm[end:end + 30])
                            or others_overdose(norm, start, end)):
            negated, reason = True, "contrast"
        s, e = orig(start, end)
        found[(s, e)] = CrisisMatch(category, text[s:e], s, e, negated, reason)
    return CrisisResult(sorted(found.values(), key=lambda c: c.start))



CRISIS_RESOURCES = [
    "If there is immediate danger, call local emergency services (112 in the EU, 911 in the US, 999 in the UK).",
    "US: 988 Suicide & Crisis Lifeline (call or text 988). UK & Ireland: Samaritans 116 123.",
    "Follow your service's suicide-risk protocol: assess risk directly, review the safety plan, "
    "and document the assessment.",
]
