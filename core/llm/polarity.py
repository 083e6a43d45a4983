"""Does a note sentence say the opposite of a rationale claim? Rule-based polarity on matched words.

Similarity links a claim to the note sentence that talks about the same thing;
it cannot tell "shows suicidal ideation" from "denies suicidal ideation". Here
both texts are split into clauses and every content word gets a polarity:

* negation cues (no, not, never, denies, without, negative for, free of, no longer, ...)
  flip the words after them up to the end of their clause (a list after "denies"
  runs on across short comma items: "denies SI, HI or AH");
* deficit cues (low, poor, loss of, lack of, trouble, reduced, stopped, unable, ...) flip
  the few content words after them ("poor sleep", "loss of interest"), or before them
  when nothing follows ("sleep is poor", "mood low");
* two cues on one word cancel ("denies low mood" affirms mood).

A claim is contradicted when a content word it shares with one clause of the
note sentence has one polarity in the claim and the other in that clause
("the patient shows suicidal ideation" / "Patient denies suicidal ideation";
"sleep has improved" / "poor sleep"). Separately, a claim of withdrawal, loss of
interest or depressed mood is contradicted by a clause that affirms engagement
(volunteering, seeing family or friends, exercise, enjoying, going back to work).

Words are compared by a short prefix stem (suicide/suicidal, depressed/depression).
No models, no imports beyond ``re``.
"""

from __future__ import annotations

import re

_WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)?")
_CLAUSE_RE = re.compile(r"[;:!?]|\.(?:\s|$)|\s+(?:but|however|although|though|whereas|yet|except|while)\s+|\s+-\s+",
                        re.IGNORECASE)

# Cues that negate everything after them in their clause.
_NEGATORS = {"no", "not", "never", "none", "nor", "without", "denies", "denied", "deny", "denying", "neither",
             "nothing", "absent", "absence", "isn't", "aren't", "wasn't", "weren't", "doesn't", "don't", "didn't",
             "hasn't", "haven't", "hadn't", "won't", "wouldn't", "negative", "free", "ruled", "rules", "resolved",
             "nobody"}
# Cues that express a deficit of the few content words next to them.
_DEFICITS = {"low", "lower", "poor", "poorly", "lack", "lacks", "lacking", "lacked", "loss", "lost", "losing",
             "reduced", "decreased", "diminished", "little", "trouble", "difficulty", "difficulties", "unable",
             "can't", "cannot", "couldn't", "inability", "stopped", "stop", "quit", "gave", "longer", "less",
             "fewer", "impaired", "disturbed", "bad", "worse", "worsening", "declining", "declined"}
# Two-word cues, rewritten to one token before tagging.
_PHRASES = [(r"\bno longer\b", "longer"), (r"\bused to\b", "longer"), (r"\bgave up\b", "gave"),
            (r"\bfree of\b", "free"), (r"\bnegative for\b", "negative"), (r"\bruled out\b", "ruled"),
            (r"\bcan ?not\b", "cannot"), (r"\bno one\b", "nobody")]
# Abbreviations seen in notes.
_ABBREV = {"si": "suicidal ideation", "hi": "homicidal ideation", "ah": "auditory hallucinations",
           "vh": "visual hallucinations", "sh": "self harm", "dsh": "self harm", "etoh": "alcohol",
           "suicidality": "suicidal ideation"}
# Words that say nothing about the content (never used to link a claim to a clause).
_STOP = set("""a an the of in on at to for with by from as and or but if then than so such that this these those
which who whom whose what when where why how it its it's there here be is are was were been being am has have had
having do does did done will would shall should can could may might must he she they them him her his hers their
theirs we us our you your i me my mine myself herself himself themselves one any some all each every both either
also very much many more most really just only even still again ever yet too about into over under after before
during since until while because though although however patient patients poster post client person individual
reports reported reporting report says said states stated mentions mentioned mention notes noted describes
described expresses expressed shows show showing shown indicates indicate indicating suggests suggest suggesting
signs sign symptoms symptom evidence consistent feels feel feeling feelings seems seem appears appear presents
presenting overall likely possible possibly perhaps currently current today week weeks day days month months year
years time times daily weekly recently recent lately now last past period some anything something someone
thing things way lot""".split())
# Withdrawal, lost interest, depressed mood (claim side) ...
_LOW_ENGAGEMENT = {"withd", "isola", "lonel", "alone", "avoid", "reclu", "anhed", "depre", "hopel", "despa",
                   "apath", "unmot"}
_ENGAGEMENT_LOST = {"inter", "motiv", "enjoy", "pleas", "socia", "energ", "conta", "activ", "hobby", "hobbi"}
# ... against a note clause that affirms engagement (each match must not be negated in its clause).
_PEOPLE = (r"(?:friends?|family|sister|brother|siblings?|mother|mum|mom|father|dad|parents|partner|wife|husband|"
           r"son|daughter|children|kids|grandchildren|neighbou?rs?|colleagues?|girlfriend|boyfriend|others|people)")
_ENGAGEMENT_RE = re.compile(
    r"\b(?:volunteer\w*|joined|joining|gym|exercis\w*|enjoy\w*|hobb(?:y|ies)|resumed|dating|hopeful|optimistic|"
    r"happier|excited|socialis\w*|socializ\w*|engag\w+ in)\b"
    r"|\b(?:sees|seeing|saw|visits|visiting|visited|meets|meeting|met|calls|called|texts|spends time with|"
    r"spending time with|spent time with|goes out with|went out with|going out with)\s+(?:\w+\s+){0,2}?" + _PEOPLE +
    r"\b|\b(?:back|returned|returning) (?:to|at) (?:work|school|college|university|class(?:es)?)\b")


def _stem(word: str) -> str:
    word = word.replace("'", "")
    return word[:5] if len(word) > 5 else word


def _prepare(text: str) -> str:
    text = text.lower().replace("\u2019", "'")
    for pattern, token in _PHRASES:
        text = re.sub(pattern, f" {token} ", text)
    return text


def clauses(text: str) -> list[str]:
    return [c.strip() for c in _CLAUSE_RE.split(_prepare(text)) if c and c.strip()]


def _segments(clause: str) -> list[list[str]]:
    """Comma pieces of a clause as word lists, abbreviations expanded."""
    out = []
    for piece in clause.split(","):
        words = []
        for w in _WORD_RE.findall(piece):
            words += _ABBREV.get(w, w).split()
        out.append(words)
    return out


_VERBISH = {"is", "are", "was", "were", "has", "have", "had", "reports", "says", "feels", "sees", "started", "she",
            "he", "they", "i", "we", "but", "sleeps", "eats", "goes", "works", "enjoys"}


_BREAKS = {"and", "or", "but", "nor", "so", "then"} | _NEGATORS | _DEFICITS


def _near(flat: list[tuple[str, int]], content: list[bool], k: int, step: int) -> list[int]:
    """Content words within four words of a deficit cue, one way, in its comma piece, up to a conjunction or cue."""
    out, j = [], k + step
    while 0 <= j < len(flat) and abs(j - k) <= 4 and flat[j][1] == flat[k][1] and flat[j][0] not in _BREAKS:
        if content[j]:
            out.append(j)
        j += step
    return out[:3]


def polarity(clause: str) -> dict[str, set[int]]:
    """stem -> polarities (+1 affirmed, -1 negated) of the content words of one clause."""
    segs = _segments(clause)
    flat: list[tuple[str, int]] = []  # (word, segment index)
    for i, seg in enumerate(segs):
        flat += [(w, i) for w in seg]
    flips = [0] * len(flat)
    content = [w not in _STOP and w not in _NEGATORS and w not in _DEFICITS for w, _ in flat]
    for k, (w, seg) in enumerate(flat):
        if w in _NEGATORS:
            # to the end of the clause's comma piece, running on over short list items ("denies SI, HI or AH")
            last_seg = seg
            for nxt in range(seg + 1, len(segs)):
                if len(segs[nxt]) <= 8 and not set(segs[nxt]) & _VERBISH:
                    last_seg = nxt
                else:
                    break
            for j in range(k + 1, len(flat)):
                if flat[j][1] > last_seg:
                    break
                flips[j] += 1
        elif w in _DEFICITS:
            ahead = _near(flat, content, k, +1)
            for j in ahead or _near(flat, content, k, -1):
                flips[j] += 1
    out: dict[str, set[int]] = {}
    for (w, _), f, c in zip(flat, flips, content, strict=True):
        if c and len(w) > 1:
            out.setdefault(_stem(w), set()).add(-1 if f % 2 else 1)
    return out


def _merge(parts: list[dict[str, set[int]]]) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for p in parts:
        for k, v in p.items():
            out.setdefault(k, set()).update(v)
    return out


def contradiction(claim: str, sentence: str) -> str | None:
    """Why `sentence` (from the note) contradicts `claim`, or None when it does not."""
    claim_pol = _merge([polarity(c) for c in clauses(claim)])
    for clause in clauses(sentence):
        note_pol = polarity(clause)
        opposed = sorted(s for s in claim_pol.keys() & note_pol.keys()
                         if len(claim_pol[s]) == 1 and len(note_pol[s]) == 1 and claim_pol[s] != note_pol[s])
        if opposed:
            names = {}
            for seg in _segments(clause):
                for w in seg:
                    names.setdefault(_stem(w), w)
            words = ", ".join(dict.fromkeys(names.get(s, s) for s in opposed))
            return f"the note says the opposite about: {words}"
        low = {s for s, p in claim_pol.items() if s in _LOW_ENGAGEMENT and p == {1}} | \
              {s for s, p in claim_pol.items() if s in _ENGAGEMENT_LOST and p == {-1}}
        engaged = [m.group(0) for m in _ENGAGEMENT_RE.finditer(clause)
                   if note_pol.get(_stem(_WORD_RE.findall(m.group(0))[0])) == {1}]
        if low and engaged:
            return (f"the note describes engagement ({engaged[0]}) where the claim describes withdrawal, "
                    f"lost interest or low mood")
    return None


__all__ = ["contradiction", "polarity", "clauses"]
