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

Only clinical findings are compared: symptoms and risks (suicidal ideation, voices,
alcohol, panic, hopelessness, ...), which only a negation cue flips, and capacities
(sleep, appetite, mood, energy, interest, ...), which a deficit cue flips too ("poor
sleep"). Other shared words ("work", "mother") never make a contradiction: a claim
about the same topic is not contradicted by a negation of something else. Note
clauses that only wish or suppose ("I need to find a hobby", "if I ...") are skipped.

A claim is contradicted when a content word it shares with one clause of the
note sentence has one polarity in the claim and the other in that clause
("the patient shows suicidal ideation" / "Patient denies suicidal ideation";
"sleep has improved" / "poor sleep"). Separately, a claim of withdrawal, loss of
interest or depressed mood is contradicted by a clause that affirms engagement
(volunteering, seeing family or friends, exercise, enjoying, going back to work).

Words are compared by a light stem (suffix stripped, six-letter prefix: suicide/suicidal,
depressed/depression, enjoys/enjoyed).
No models, no imports beyond ``re``.
"""

from __future__ import annotations

import re

_WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)?")
_CLAUSE_RE = re.compile(r"[;:!?]|\.(?:\s|$)|\s+(?:but|however|although|though|whereas|yet|except|while)\s+|\s+-\s+",
                        re.IGNORECASE)

# Cues that negate what follows them to the end of their clause piece, running on over a short list
# ("denies SI, HI or AH/VH"; "no appetite, energy or interest").
_LIST_NEGATORS = {"no", "none", "nor", "without", "denies", "denied", "deny", "denying", "neither", "nothing",
                  "absent", "absence", "negativefor", "freeof", "ruledout", "resolved", "nobody"}
# Verbal negations: a few words, up to a conjunction ("does not hear voices and is not paranoid").
_VERBAL_NEGATORS = {"not", "never", "isn't", "aren't", "wasn't", "weren't", "doesn't", "don't", "didn't", "hasn't",
                    "haven't", "hadn't", "dont", "doesnt", "didnt", "isnt", "wasnt", "havent", "hasnt"}
_NEGATORS = _LIST_NEGATORS | _VERBAL_NEGATORS
_VERBAL_SCOPE = 6
_SCOPE_BREAKS = {"and", "or", "which", "that", "because", "so", "as", "who", "when", "since", "while"}
# Cues that express a deficit of the few content words next to them.
_DEFICITS = {"low", "lower", "poor", "poorly", "lack", "lacks", "lacking", "lacked", "loss", "lost", "losing",
             "reduced", "decreased", "diminished", "little", "trouble", "difficulty", "difficulties", "unable",
             "can't", "cannot", "couldn't", "inability", "stopped", "quit", "gaveup", "nolonger", "less",
             "fewer", "impaired", "disturbed", "bad", "worse", "worsening", "declining", "declined"}
# Two-word cues, rewritten to one token before tagging.
_PHRASES = [(r"\bno longer\b", "nolonger"), (r"\bused to\b", "nolonger"), (r"\bgave up\b", "gaveup"),
            (r"\bfree (?:of|from)\b", "freeof"), (r"\bnegative for\b", "negativefor"),
            (r"\bruled out\b", "ruledout"), (r"\bcan ?not\b", "cannot"), (r"\bno one\b", "nobody"),
            (r"\u2018|\u2019|\u201a\u00e4\u00f4", "'")]  # curly and mis-decoded apostrophes
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
# ... against a note clause that affirms engagement (each match must not be negated in its clause).
_PEOPLE = (r"(?:friends?|family|sister|brother|siblings?|mother|mum|mom|father|dad|parents|partner|wife|husband|"
           r"son|daughter|children|kids|grandchildren|neighbou?rs?|colleagues?|girlfriend|boyfriend|others|people)")
_ENGAGEMENT_RE = re.compile(
    r"\b(?:volunteer\w*|joined|joining|gym|exercis\w*|enjoy\w*|hobb(?:y|ies)|resumed|dating|hopeful|optimistic|"
    r"happier|socialis\w*|socializ\w*|engag\w+ in)\b"
    r"|\b(?:sees|seeing|saw|visits|visiting|visited|meets|meeting|met|calls|called|texts|spends time with|"
    r"spending time with|spent time with|goes out with|went out with|going out with)\s+(?:\w+\s+){0,2}?" + _PEOPLE +
    r"\b|\b(?:back|returned|returning) (?:to|at) (?:work|school|college|university|class(?:es)?)\b")


_IRREGULAR = {"slept": "sleep", "anxious": "anxiety", "ate": "eat", "felt": "feel", "drank": "drink", "drunk": "drink",
              "died": "die", "dying": "die", "dead": "die", "death": "die", "selfharm": "harm", "cutting": "cut",
              "suicidality": "suicide", "hopelessly": "hopeless", "burdensome": "burden", "paranoid": "paranoia",
              "psychotic": "psychosis", "scared": "fear", "afraid": "fear", "cried": "cry", "crying": "cry",
              "tearful": "cry", "friendships": "friend"}
_SUFFIXES = ("ness", "ment", "ing", "ion", "ful", "ity", "ed", "es", "al", "ly", "s")


def _stem(word: str) -> str:
    word = word.replace("'", "")
    word = _IRREGULAR.get(word, word)
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not (suffix == "s" and word.endswith("ss")):
            word = word[: -len(suffix)]
            break
    return word[:6]


def _stems(words: str) -> set[str]:
    return {_stem(w) for w in words.split()}


# Symptoms and risks: a negation cue flips them ("denies suicidal ideation"), a deficit cue does not ("bad anxiety").
_FINDINGS = _stems("""suicide suicidal ideation homicidal harm cut overdose kill die hallucinations voices paranoia
psychosis delusions alcohol drinking drugs cannabis substance insomnia nightmares flashbacks panic anxiety depression
depressed hopeless worthless guilt lonely isolated withdrawn cry irritable agitated manic mania relapse trauma abuse
stress stressed fear burden weapon gun pills rope""")
# Capacities: a deficit flips them too ("poor sleep", "loss of interest", "mood is low").
_CAPACITIES = _stems("""sleep appetite eat mood energy concentration focus interest motivation pleasure enjoy hope
esteem confidence hygiene functioning""")
_COMPARED = _FINDINGS | _CAPACITIES
# A plan or intent is a finding where the note clause speaks of self-harm ("a plan to overdose"), not of weekends.
_RISK_PLAN = _stems("plan plans intent")
_RISK_CONTEXT = _stems("suicide suicidal kill die overdose harm cut end hang jump pills")
# Withdrawal, lost interest, depressed mood (claim side) ...
_LOW_ENGAGEMENT = _stems("withdrawn withdrawal isolated isolating lonely alone avoid avoidant recluse anhedonia "
                         "depression depressed depressive hopeless despair apathy apathetic unmotivated")
_ENGAGEMENT_LOST = _stems("interest motivation enjoy pleasure social contact activities hobbies energy")
# A note clause with one of these wishes or supposes; it states no finding.
_HYPOTHETICAL = {"need", "needs", "should", "could", "would", "might", "wish", "wishes", "if", "unless", "whether",
                 "hoping", "promised", "promise", "wouldn't", "won't", "wouldnt", "wont", "shouldn't"}
_HYPOTHETICAL_ENGAGEMENT = _HYPOTHETICAL | {"want", "wants", "wanted", "try", "tries", "trying", "tried", "hope",
                                             "hopes", "hoping", "plan", "plans", "planning", "going", "supposed",
                                             "only", "used"}


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


_BREAKS = {"but", "nor", "so", "then"} | _NEGATORS | _DEFICITS


def _near(flat: list[tuple[str, int]], content: list[bool], k: int, step: int) -> list[int]:
    """Content words within four words of a deficit cue, one way, in its comma piece, up to a conjunction or cue."""
    out, j = [], k + step
    while 0 <= j < len(flat) and abs(j - k) <= 4 and flat[j][1] == flat[k][1] and flat[j][0] not in _BREAKS:
        if content[j]:
            out.append(j)
        j += step
    return out[:3]


def _list_end(segs: list[list[str]], seg: int) -> int:
    """Last comma piece a list cue in piece `seg` reaches: following short pieces with no verb run on."""
    last = seg
    for nxt in range(seg + 1, len(segs)):
        if set(segs[nxt]) & _VERBISH:
            break
        if segs[nxt][:1] in (["and"], ["or"]):  # the list's last item
            return nxt
        if len(segs[nxt]) > 8:
            break
        last = nxt
    return last


def polarity(clause: str, deficits_flip_all: bool = False) -> dict[str, set[int]]:
    """stem -> polarities (+1 affirmed, -1 negated) of the content words of one clause.

    A word is negated when a negation cue's scope covers it, in deficit when a deficit cue's does; either one
    flips it, both cancel ("denies low mood"). A deficit cue flips capacities only, or (``deficits_flip_all``)
    any word near it ("stopped volunteering")."""
    segs = _segments(clause)
    flat: list[tuple[str, int]] = []  # (word, segment index)
    for i, seg in enumerate(segs):
        flat += [(w, i) for w in seg]
    negated = [False] * len(flat)
    deficit = [False] * len(flat)
    content = [w not in _STOP and w not in _NEGATORS and w not in _DEFICITS for w, _ in flat]
    keep = (lambda j: True) if deficits_flip_all else (lambda j: _stem(flat[j][0]) in _CAPACITIES)
    for k, (w, seg) in enumerate(flat):
        if w in _LIST_NEGATORS:
            last = _list_end(segs, seg)
            for j in range(k + 1, len(flat)):
                if flat[j][1] > last or flat[j][0] in _NEGATORS:
                    break
                negated[j] = True
        elif w in _VERBAL_NEGATORS:
            for j in range(k + 1, min(len(flat), k + 1 + _VERBAL_SCOPE)):
                if flat[j][1] != seg or flat[j][0] in _SCOPE_BREAKS or flat[j][0] in _NEGATORS:
                    break
                negated[j] = True
        elif w in _DEFICITS:  # flips capacities only: "poor sleep", but "bad anxiety" is still anxiety
            ahead = [j for j in _near(flat, content, k, +1) if keep(j)]
            if ahead:
                reach = ahead[-1]
                # "lack of interest, enjoyment and pleasure": the list after the cue is in deficit too
                if all(flat[j][1] == seg for j in range(k, reach + 1)):
                    last = _list_end(segs, seg)
                    ahead += [j for j in range(reach + 1, len(flat)) if seg < flat[j][1] <= last and content[j]
                              and keep(j)]
            for j in ahead or [j for j in _near(flat, content, k, -1) if keep(j)]:
                deficit[j] = True
    out: dict[str, set[int]] = {}
    for (w, _), n, d, c in zip(flat, negated, deficit, content, strict=True):
        if c and len(w) > 1:
            out.setdefault(_stem(w), set()).add(-1 if n != d else 1)
    return out


def _merge(parts: list[dict[str, set[int]]]) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for p in parts:
        for k, v in p.items():
            out.setdefault(k, set()).update(v)
    return out


# A claim that the note is silent about something ("they do not mention staying in bed most days") is false when
# the note says it: each listed item (two or more content words) is looked for, affirmed, in the note's clause.
_ABSENCE_RE = re.compile(
    r"\b(?:(?:do|does|did)(?: not|n't)|never)\s+(?:\w+ly\s+)?(?:mention|state|say|report|describe|discuss|express|"
    r"indicate)s?\b|\bno (?:mention|report|description) of\b|\bwithout (?:mentioning|stating|reporting|describing)\b"
    r"|\bnot (?:mentioned|stated|reported|described|discussed)\b")
_ABSENCE_GENERIC = _stems("other sign signs symptom symptoms such like thing things feeling feelings issue issues "
                          "problem problems specific explicit explicitly direct directly clear clearly")


def _absent_items(claim: str) -> list[tuple[str, set[str]]]:
    """The items a claim says the note does not mention, each as (its words, its content stems)."""
    text = _prepare(claim)
    m = _ABSENCE_RE.search(text)
    if not m:
        return []
    rest = _CLAUSE_RE.split(text[m.end():])[0]
    items = []
    for piece in re.split(r",|\bor\b|\band\b|\bnor\b", rest):
        words = _WORD_RE.findall(piece)
        stems = {_stem(w) for w in words if w not in _STOP and w not in _NEGATORS} - _ABSENCE_GENERIC
        if len(stems) >= 2:
            items.append((" ".join(w for w in words if w not in ("such", "as", "like")), stems))
    return items


def contradiction(claim: str, sentence: str) -> str | None:
    """Why `sentence` (from the note) contradicts `claim`, or None when it does not."""
    claim_pol = _merge([polarity(c) for c in clauses(claim)])
    absent = _absent_items(claim)
    for clause in clauses(sentence):
        words = set(_WORD_RE.findall(clause))
        if words & _HYPOTHETICAL:
            continue
        note_pol = polarity(clause)
        if absent:
            said = {_stem(w) for w in words}
            negated = {st for st, p in note_pol.items() if -1 in p}
            for item, stems in absent:
                if stems <= said and not stems & negated:
                    return f"the note does mention: {item}"
        compared = _COMPARED | (_RISK_PLAN if note_pol.keys() & _RISK_CONTEXT else set())
        opposed = sorted(s for s in claim_pol.keys() & note_pol.keys() & compared
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
        acts = polarity(clause, deficits_flip_all=True)
        engaged = [] if words & (_HYPOTHETICAL_ENGAGEMENT | _NEGATORS | _DEFICITS) else [m.group(0) for m in _ENGAGEMENT_RE.finditer(clause)
                   if acts.get(_stem(_WORD_RE.findall(m.group(0))[0])) == {1}]
        if low and engaged:
            return (f"the note describes engagement ({engaged[0]}) where the claim describes withdrawal, "
                    f"lost interest or low mood")
    return None


__all__ = ["contradiction", "polarity", "clauses"]
