"""Psycholinguistic indicators of one note: deterministic word counts with the spans that produced them.

``compute(text)`` returns, for each indicator, a rate per 100 words (valence:
the mean VADER compound score of the sentences, -1..1), how many matches were
negated within their clause ("not hopeless", counted apart and left out of the
rate), the matching character spans, and a status that says when a number
would not be true: ``english_only`` for a note that is not in English,
``no_words`` for one without words (emoji only), ``not_applicable`` for the
first-person pronoun indicator of a note written about the patient in the third
person. The dominant emotion of each sentence (sadness, fear, anger, joy,
neutral) comes from short written word lists.

No model runs: the word lists live in ``core.clinical.lexicons`` and the VADER
lexicon ships in the ``vaderSentiment`` package (MIT). The result carries a
``version`` that changes whenever a list or this logic changes, so stored
results of an older version are recomputed rather than shown.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from functools import lru_cache

from core.clinical import lexicons as lx

LOGIC_VERSION = "ind-3"  # change whenever the logic below changes what is counted


@dataclass(frozen=True)
class IndicatorSpec:
    name: str
    label: str
    description: str
    worse_when: str | None   # "high" | "low" | None (a mention count: more is not by itself worse)
    negation_cancels: bool   # a negated match leaves the rate ("not hopeless"); else it still counts as a mention
    unit: str = "per 100 words"


INDICATORS: tuple[IndicatorSpec, ...] = (
    IndicatorSpec("absolutist", "Absolutist words", "always, never, completely, nothing, everyone, ...", "high", True),
    IndicatorSpec("first_person", "First-person singular", "I, me, my, mine, myself", "high", False),
    IndicatorSpec("negative_emotion", "Negative emotion words", "VADER lexicon words rated ≤ -1", "high", True),
    IndicatorSpec("positive_emotion", "Positive emotion words", "VADER lexicon words rated ≥ +1", "low", True),
    IndicatorSpec("valence", "Valence", "mean VADER compound score of the sentences", "low", False,
                  unit="-1 (negative) … +1 (positive)"),
    IndicatorSpec("hopelessness", "Hopelessness", "hopeless, no future, give up, what's the point, ...", "high", True),
    IndicatorSpec("helplessness", "Helplessness", "helpless, can't cope, stuck, out of control, ...", "high", True),
    IndicatorSpec("distortion", "Cognitive distortions",
                  "should/must statements, labelling, catastrophising, mind reading", "high", True),
    IndicatorSpec("sleep", "Sleep mentions", "sleep, insomnia, woke up, nightmares, ...", None, False),
    IndicatorSpec("appetite", "Appetite mentions", "appetite, eating, meals, weight, ...", None, False),
    IndicatorSpec("energy", "Energy mentions", "tired, exhausted, no motivation, ...", None, False),
    IndicatorSpec("substance", "Substance mentions", "alcohol, drinking, cannabis, pills, ...", "high", False),
    IndicatorSpec("social", "Social references", "friends, family, partner, colleagues, ...", None, True),
    IndicatorSpec("alone", "Being alone", "alone, lonely, isolated, no one to talk to, ...", "high", True),
)
SPECS = {s.name: s for s in INDICATORS}
NAMES = tuple(SPECS)
RATE_NAMES = tuple(n for n in NAMES if n != "valence")

_LISTS = {
    "absolutist": {"": lx.ABSOLUTIST}, "first_person": {"": lx.FIRST_PERSON_SINGULAR},
    "hopelessness": {"": lx.HOPELESSNESS}, "helplessness": {"": lx.HELPLESSNESS}, "distortion": lx.DISTORTIONS,
    "sleep": {"": lx.SLEEP}, "appetite": {"": lx.APPETITE}, "energy": {"": lx.ENERGY},
    "substance": {"": lx.SUBSTANCE}, "social": {"": lx.SOCIAL}, "alone": {"": lx.ALONE},
    **{f"emotion:{e}": {"": words} for e, words in lx.EMOTION_WORDS.items()},
}

_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_QUOTE_RE = re.compile(r"\"[^\"]{0,2000}\"|“[^”]{0,2000}”")
_CLAUSE_CHARS = frozenset(".,;:!?()[]\n")
_SENTENCE_CHARS = frozenset(".!?\n")
_CLOSING = frozenset(".!?…\"'”’)]")
MAX_SENTENCE_WORDS = 40  # text without sentence punctuation is cut into runs of this many words


# ---------------------------------------------------------------- lexicons
@lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


@lru_cache(maxsize=1)
def _compiled():
    """(word -> [(words, indicator, subtype)], (word, next word) -> [...] longest first,
    [(prefix, indicator, subtype)], the prefixes as a tuple)."""
    single: dict[str, list] = {}
    multi: dict[tuple[str, str], list] = {}
    prefixes = []
    for name, groups in _LISTS.items():
        for subtype, entries in groups.items():
            for entry in entries:
                entry = entry.lower().replace("’", "'")
                if entry.endswith("*"):
                    prefixes.append((entry[:-1], name, subtype))
                    continue
                words = tuple(_WORD_RE.findall(entry))
                if len(words) == 1:
                    single.setdefault(words[0], []).append((words, name, subtype))
                else:
                    multi.setdefault(words[:2], []).append((words, name, subtype))
    for cands in multi.values():
        cands.sort(key=lambda c: -len(c[0]))
    return single, multi, prefixes, tuple(p for p, _, _ in prefixes)


@lru_cache(maxsize=1)
def version() -> str:
    """Logic version plus a digest of every list and of the VADER package version."""
    from importlib.metadata import version as pkg_version

    digest = hashlib.sha256(repr((sorted((k, sorted((s, tuple(v)) for s, v in g.items()))
                                          for k, g in _LISTS.items()),
                                   lx.NEGATORS, lx.NEGATION_WINDOW, sorted(lx.EMOTION_WORD_EXCLUDE),
                                   lx.EMOTION_WORD_MIN_VALENCE, sorted(lx.ENGLISH_FUNCTION_WORDS),
                                   lx.THIRD_PERSON_CUES, lx.OTHER_PERSONAL, MAX_SENTENCE_WORDS,
                                   pkg_version("vaderSentiment"))).encode()).hexdigest()
    return f"{LOGIC_VERSION}+{digest[:8]}"


# ---------------------------------------------------------------- tokens
@dataclass
class _Tokens:
    words: list[str]            # lower case, straight apostrophes
    starts: list[int]
    ends: list[int]
    clause: list[int]
    sentence: list[int]
    quoted: list[bool]


def _tokenise(text: str) -> _Tokens:
    quotes = [(m.start(), m.end()) for m in _QUOTE_RE.finditer(text)]
    words, starts, ends, clause, sentence, quoted = [], [], [], [], [], []
    c = s = 0
    prev_end = 0
    run = 0
    q = 0
    for m in _WORD_RE.finditer(text):
        a, b = m.span()
        gap = text[prev_end:a]
        if words and gap != " ":
            if any(ch in _SENTENCE_CHARS for ch in gap) or run >= MAX_SENTENCE_WORDS:
                s += 1
                c += 1
                run = 0
            elif any(ch in _CLAUSE_CHARS for ch in gap):
                c += 1
        elif run >= MAX_SENTENCE_WORDS:
            s += 1
            c += 1
            run = 0
        w = m.group().lower().replace("’", "'")
        if w == "but" and words:
            c += 1
        while q < len(quotes) and quotes[q][1] <= a:
            q += 1
        words.append(w)
        starts.append(a)
        ends.append(b)
        clause.append(c)
        sentence.append(s)
        quoted.append(q < len(quotes) and quotes[q][0] <= a)
        prev_end = b
        run += 1
    return _Tokens(words, starts, ends, clause, sentence, quoted)


_NEGATORS = frozenset(lx.NEGATORS)
_ABSOLUTIST = frozenset(lx.ABSOLUTIST)


def _negated(t: _Tokens, i: int, indicator: str = "") -> bool:
    """A negator among the few words before position ``i`` in the same clause.

    For absolutist words, the absolutist negators ("nothing ever", "never ever") intensify, not negate."""
    for j in range(i - 1, max(-1, i - 1 - lx.NEGATION_WINDOW), -1):
        if t.clause[j] != t.clause[i]:
            return False
        w = t.words[j]
        if (w in _NEGATORS or w.endswith("n't")) and not (indicator == "absolutist" and w in _ABSOLUTIST):
            return True
    return False


def _matches(t: _Tokens) -> list[tuple[int, int, str, str, bool]]:
    """(first word, word after the last, indicator, subtype, negated) for every list match.

    Within one indicator matches do not overlap and the longest phrase wins; different indicators may
    match the same words ("hopeless" is a hopelessness phrase and a negative emotion word)."""
    single, multi, prefixes, prefix_tuple = _compiled()
    free: dict[str, int] = {}
    out = []
    words = t.words
    n = len(words)
    for i, w in enumerate(words):
        if i + 1 < n:
            for cand, name, subtype in multi.get((w, words[i + 1]), ()):
                k = len(cand)
                if free.get(name, 0) <= i and (k == 2 or tuple(words[i:i + k]) == cand):
                    free[name] = i + k
                    out.append((i, i + k, name, subtype, name != "first_person" and _negated(t, i, name)))
        for _cand, name, subtype in single.get(w, ()):
            if free.get(name, 0) <= i:
                free[name] = i + 1
                out.append((i, i + 1, name, subtype, name != "first_person" and _negated(t, i, name)))
        if w.startswith(prefix_tuple):
            for p, name, subtype in prefixes:
                if w.startswith(p) and free.get(name, 0) <= i:
                    free[name] = i + 1
                    out.append((i, i + 1, name, subtype, _negated(t, i, name)))
    return out


# ---------------------------------------------------------------- language and speaker
def _language(t: _Tokens, text: str) -> str:
    """"en", or "other" when few of the words are common English words or VADER lexicon entries."""
    n = len(t.words)
    letters = [ch for ch in text if ch.isalpha()]
    if letters and sum(ch.isascii() for ch in letters) / len(letters) < 0.5:
        return "other"
    if n < 3:
        return "en"
    lexicon = _vader().lexicon
    single = _compiled()[0]
    known = sum(1 for w in t.words if w in lx.ENGLISH_FUNCTION_WORDS or w in lexicon or w in single)
    return "en" if known / n >= 0.15 else "other"


_FIRST = frozenset(lx.FIRST_PERSON_SINGULAR)
_OTHER = frozenset(lx.OTHER_PERSONAL)
_THIRD_PRONOUNS = frozenset(w for w in lx.THIRD_PERSON_CUES if w in _OTHER)
_THIRD_STRONG = frozenset(lx.THIRD_PERSON_CUES) - _THIRD_PRONOUNS


def _speaker(t: _Tokens) -> dict:
    """Who wrote the note: the patient ("first_person") or a clinician about them ("third_person").

    Quoted speech is left out. Third person when there is no first-person
    pronoun but third-person cues, or when cues such as "patient", "reports",
    "denies" are at least as many (and two or more) as first-person pronouns
    (a clinician's own "I discussed ..." does not make a note first person).
    """
    first = strong = pron = 0
    for w, q in zip(t.words, t.quoted):
        if q:
            continue
        if w in _FIRST:
            first += 1
        elif w in _THIRD_STRONG:
            strong += 1
        elif w in _THIRD_PRONOUNS:
            pron += 1
    if first == 0 and strong + pron >= 1:
        who = "third_person"
    elif strong >= 2 and first <= strong:
        who = "third_person"
    elif first > 0:
        who = "first_person"
    else:
        who = "unclear"
    return {"speaker": who, "first_person_cues": first, "third_person_cues": strong + pron}


# ---------------------------------------------------------------- the indicators
def _rate_std(count: int, n: int) -> float:
    """Sampling spread of a rate per 100 words (binomial, with a half-count so zero has a spread)."""
    p = (count + 0.5) / (n + 1)
    return round(100 * math.sqrt(p * (1 - p) / max(n, 1)), 4)


def _blank(status: str, reason: str) -> dict:
    return {"value": None, "count": 0, "negated": 0, "std": None, "status": status, "reason": reason}


def _sentences(t: _Tokens) -> list[tuple[int, int]]:
    """(first word, word after the last) of each sentence."""
    bounds, start = [], 0
    for i in range(1, len(t.words) + 1):
        if i == len(t.words) or t.sentence[i] != t.sentence[start]:
            bounds.append((start, i))
            start = i
    return bounds


def compute(text: str) -> dict:
    """Every indicator of one note (see the module docstring); JSON-serialisable."""
    text = "" if text is None else str(text)
    t = _tokenise(text)
    n = len(t.words)
    out = {"version": version(), "words": n, "sentences": 0, "language": "en", "speaker": "unclear",
           "speaker_cues": {}, "notes": [], "indicators": {}, "emotion": None, "spans": []}
    if n == 0:
        reason = "The note has no words (empty, numbers or emoji only), so there is nothing to count."
        out["indicators"] = {name: _blank("no_words", reason) for name in NAMES}
        out["notes"].append(reason)
        return out
    out["language"] = _language(t, text)
    if out["language"] != "en":
        reason = "English word lists: the note does not look like English, so these counts would not be true."
        out["indicators"] = {name: _blank("english_only", reason) for name in NAMES}
        out["notes"].append("The note does not appear to be in English; the indicators use English word lists "
                            "and are not reported.")
        return out
    sp = _speaker(t)
    out["speaker"], out["speaker_cues"] = sp["speaker"], {k: v for k, v in sp.items() if k != "speaker"}

    counts = {name: [0, 0] for name in RATE_NAMES}  # [in the rate, negated within the clause]
    subtypes: dict[str, dict[str, int]] = {}
    spans = []
    sent_emotions: dict[int, list[tuple[int, str]]] = {}
    for i, j, name, subtype, neg in _matches(t):
        if name.startswith("emotion:"):
            if not neg:
                sent_emotions.setdefault(t.sentence[i], []).append((i, name.split(":", 1)[1]))
            continue
        spec = SPECS[name]
        cancelled = neg and spec.negation_cancels
        counts[name][0] += 0 if cancelled else 1  # a negated mention of sleep is still about sleep
        counts[name][1] += int(neg)
        if subtype and not cancelled:
            subtypes.setdefault(name, {}).setdefault(subtype, 0)
            subtypes[name][subtype] += 1
        spans.append([t.starts[i], t.ends[j - 1], name, subtype, int(neg)])

    lexicon = _vader().lexicon
    for i, w in enumerate(t.words):
        v = lexicon.get(w)
        if v is None or abs(v) < lx.EMOTION_WORD_MIN_VALENCE or w in lx.EMOTION_WORD_EXCLUDE:
            continue
        name = "positive_emotion" if v > 0 else "negative_emotion"
        neg = _negated(t, i)
        counts[name][0] += 0 if neg else 1
        counts[name][1] += int(neg)
        spans.append([t.starts[i], t.ends[i], name, f"VADER {v:+.1f}", int(neg)])

    other = sum(1 for w in t.words if w in _OTHER)  # the other personal pronouns, for the first-person share
    indicators = {}
    for name in RATE_NAMES:
        c, neg = counts[name]
        row = {"value": round(100 * c / n, 4), "count": c, "negated": neg, "std": _rate_std(c, n),
               "status": "ok", "reason": ""}
        if name in subtypes:
            row["by_subtype"] = subtypes[name]
        indicators[name] = row
    fp = indicators["first_person"]
    fp["share"] = round(fp["count"] / (fp["count"] + other), 4) if fp["count"] + other else None
    if out["speaker"] == "third_person":
        indicators["first_person"] = {
            **_blank("not_applicable",
                     f"The note is written about the patient in the third person ({sp['third_person_cues']} cues "
                     f"such as 'patient', 'reports', 'she' against {sp['first_person_cues']} first-person "
                     "pronouns), so first-person pronouns do not measure the patient's self-focus."),
            "count": fp["count"], "share": None}
        out["notes"].append("Written in the third person: the indicators describe the wording of the note, which "
                            "may paraphrase the patient rather than quote them.")

    # Sentences: valence (VADER compound, word-weighted mean) and the dominant emotion.
    sia = _vader()
    bounds = _sentences(t)
    out["sentences"] = len(bounds)
    compounds, weights, emotions = [], [], []
    for a, b in bounds:
        end = t.ends[b - 1]
        while end < len(text) and text[end] in _CLOSING:  # the sentence's own punctuation ("!" counts in VADER)
            end += 1
        compound = sia.polarity_scores(text[t.starts[a]:end])["compound"]
        compounds.append(compound)
        weights.append(b - a)
        emotions.append([t.starts[a], end, _dominant(sent_emotions.get(t.sentence[a], []))])
    mean = sum(c * w for c, w in zip(compounds, weights)) / sum(weights)
    var = sum(w * (c - mean) ** 2 for c, w in zip(compounds, weights)) / sum(weights)
    indicators["valence"] = {"value": round(mean, 4), "count": len(bounds), "negated": 0,
                             "std": round(math.sqrt(var / len(bounds)), 4), "status": "ok", "reason": ""}
    share = {e: 0.0 for e in lx.EMOTIONS}
    total = sum(e[1] - e[0] for e in emotions) or 1
    for a, b, e in emotions:
        share[e] += (b - a) / total
    out["emotion"] = {"sentences": emotions, "share": {e: round(v, 4) for e, v in share.items()},
                      "source": "written emotion word lists (lexicon)"}
    if n < 50:
        out["notes"].append(f"Short note ({n} words): one word moves a rate by {100 / n:.1f} per 100 words.")
    if len(text) > 0 and not any(ch in ".!?" for ch in text) and n > MAX_SENTENCE_WORDS:
        out["notes"].append(f"No sentence punctuation: sentences were taken as runs of {MAX_SENTENCE_WORDS} words.")
    out["indicators"] = {name: indicators[name] for name in NAMES}
    out["spans"] = sorted(spans)
    return out


def _dominant(found: list[tuple[int, str]]) -> str:
    """The emotion with most words in the sentence; a tie goes to the one named first; none: neutral."""
    if not found:
        return "neutral"
    counts: dict[str, int] = {}
    for _, e in found:
        counts[e] = counts.get(e, 0) + 1
    best = max(counts.values())
    for _, e in sorted(found):
        if counts[e] == best:
            return e
    return "neutral"


def summary(result: dict) -> dict[str, float | None]:
    """{indicator: value or None} of a ``compute`` result (for tables and CSV columns)."""
    return {name: (result.get("indicators", {}).get(name) or {}).get("value") for name in NAMES}


def add_columns(df, texts: list[str]) -> None:
    """Add ``ind_<name>`` columns (empty where not reported) and speaker, language and version to a DataFrame."""
    results = [compute(t) for t in texts]
    for name in NAMES:
        df[f"ind_{name}"] = [summary(r)[name] for r in results]
    df["ind_first_person_share"] = [(r["indicators"]["first_person"] or {}).get("share") for r in results]
    df["ind_speaker"] = [r["speaker"] for r in results]
    df["ind_language"] = [r["language"] for r in results]
    df["ind_status"] = ["; ".join(sorted({c["status"] for c in r["indicators"].values()} - {"ok"})) or "ok"
                        for r in results]
    df["indicators_version"] = version()
