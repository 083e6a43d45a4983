"""The crisis check the dashboard runs on every visit: rules first, then the semantic layer, one result.

``assess_crisis(text, encoder)`` splits the note into sentences (clauses,
word windows for very long ones), runs the phrase rules of
``core.safety.crisis`` on the whole text and, when an in-process encoder is
given, the semantic layer of ``core.safety.crisis_semantic`` on every unit.

The result lists:

* ``flags``: each with its category, the sentence, the layer that fired
  ("rule" with the phrase, or "semantic" with its similarity score and nearest
  exemplar) and character offsets into the note;
* ``considered``: matches that were looked at and not flagged (negated by a
  clinician's denial, prevention/media contrast, or a sentence the semantic
  layer found closer to a contrast exemplar), so a clinician can check them;
* ``risk_factors``: someone else's suicide (family history, bereavement),
  shown as a calm notice, never as the crisis banner;
* ``semantic``: "on", or "off" with the reason (no encoder, remote encoder),
  so the banner can say the semantic layer did not run.

A sentence in which the rules found a negation or someone else's suicide, or
whose one negation denies the harm word itself ("I'm not thinking about ending
things"), is not flagged by the semantic layer on the strength of that part: the
rules read "denies SI" more reliably than a sentence embedding does. What is
left of such a sentence outside the negated stretch is checked as a sentence of
its own, so "I'm not suicidal, I just want to disappear" still flags on "I just
want to disappear". The check never calls the language model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from core.safety import crisis_semantic as sem
from core.safety.crisis import detect_crisis

# The detector that made a stored result. A new *family* (the part before the dot) makes every summary recompute
# stored results, with the rules alone where no encoder is at hand (refresh_missing). A new minor version (after
# the dot) keeps older results of its family in the summaries, because recomputing them with the rules alone would
# drop their semantic flags; a patient page with the encoder recomputes them (results_for).
# 1.1: a sentence denying the act is considered, not flagged, and the part of a negated sentence outside the
# negation is checked on its own.
DETECTOR_VERSION = "layered-1.1"
DETECTOR_FAMILY = DETECTOR_VERSION.split(".")[0]


def same_family(version: str) -> bool:
    return version == DETECTOR_FAMILY or version.startswith(DETECTOR_FAMILY + ".")


@dataclass(frozen=True)
class CrisisFlag:
    category: str
    sentence: str
    start: int             # offsets of the matched phrase (rule) or the sentence (semantic) in the note
    end: int
    layer: str             # "rule" or "semantic"
    phrase: str = ""
    score: float | None = None
    detail: str = ""       # semantic: the C-SSRS category and nearest exemplar; considered: why not flagged

    def describe(self) -> str:
        if self.layer == "rule":
            return f"phrase rule: “{self.phrase}”"
        return f"semantic similarity {self.score:.2f}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class CrisisAssessment:
    flags: list[CrisisFlag] = field(default_factory=list)
    considered: list[CrisisFlag] = field(default_factory=list)
    risk_factors: list[CrisisFlag] = field(default_factory=list)
    semantic: str = "off"
    semantic_note: str = ""
    version: str = DETECTOR_VERSION

    @property
    def flagged(self) -> bool:
        return bool(self.flags)

    @property
    def active(self) -> list[CrisisFlag]:
        return self.flags

    @property
    def categories(self) -> list[str]:
        return sorted({f.category for f in self.flags})

    @property
    def risk_factor(self) -> bool:
        return bool(self.risk_factors)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> CrisisAssessment:
        def flags(key):
            return [CrisisFlag(**f) for f in data.get(key, [])]

        return cls(flags("flags"), flags("considered"), flags("risk_factors"), data.get("semantic", "off"),
                   data.get("semantic_note", ""), data.get("version", ""))


def _unit_of(units, start: int):
    for u in units:
        if u.start <= start < u.end:
            return u
    return None


def rule_states(units, rules) -> dict[int, str]:
    """Unit start -> "active" (a rule flags in it) or "quiet" (the rules only read a negation, contrast or someone
    else's suicide in it); units without a rule match are absent."""
    states: dict[int, str] = {}
    for m in rules.matches:
        u = _unit_of(units, m.start)
        if u is not None and states.get(u.start) != "active":
            states[u.start] = "quiet" if m.negated else "active"
    return states


def rest_units(units, rules, rule_units: dict[int, str], denied) -> list[tuple[sem.Unit, sem.Unit]]:
    """(sentence, what is left of it) for sentences in which the rules read a negation or someone else's suicide,
    or the semantic layer a denial (``denied``: their unit starts): the stretches outside those are a sentence of
    their own ("I'm not suicidal, I just want to disappear")."""
    quiet: dict[int, list[tuple[int, int]]] = {}
    for m in rules.matches:
        u = _unit_of(units, m.start) if m.negated else None
        if u is not None and rule_units.get(u.start) == "quiet":
            quiet.setdefault(u.start, []).append((m.start, m.end))
    out = []
    for u in units:
        if u.start in quiet:
            spans = quiet[u.start]
        elif u.start in denied:
            spans = [(u.start + a, u.start + b) for a, b in sem.denied_spans(u.text)]
        else:
            continue
        rest = sem.rest_of(u, spans)
        if rest is not None:
            out.append((u, rest))
    return out


def _second_look(result: CrisisAssessment, encoder, units, rules, rule_units, denied) -> set[int]:
    """Flag what is left of a negated or denied sentence when it flags on its own; the starts of those sentences."""
    pairs = rest_units(units, rules, rule_units, denied)
    if not pairs:
        return set()
    try:
        scores = sem.score_units(encoder, [rest for _, rest in pairs])
    except Exception:  # noqa: BLE001 - the first pass's result stands
        return set()
    flagged = set()
    for (u, rest), s in zip(pairs, scores, strict=True):
        if s.flags() and not sem.denies_act(rest.text):
            result.flags.append(CrisisFlag(sem.BANNER_CATEGORY.get(s.category, s.category), u.text, u.start, u.end,
                                           "semantic", "", round(s.crisis, 3),
                                           f"{s.category}; in “{rest.text}”, outside the negated part; "
                                           f"nearest: “{s.exemplar}”"))
            flagged.add(u.start)
    return flagged


def assess_crisis(text: str, encoder=None) -> CrisisAssessment:
    """Both layers on ``text``; ``encoder`` None (or remote) runs the rules only and says so."""

    result = CrisisAssessment()
    if not isinstance(text, str) or not text.strip():
        result.semantic_note = "empty note"
        return result
    units = sem.split_units(text)
    rules = detect_crisis(text)
    for m in rules.matches:
        u = _unit_of(units, m.start)
        sentence = u.text if u else text[m.start:m.end]
        flag = CrisisFlag(m.category, sentence, m.start, m.end, "rule", m.phrase, None, m.reason)
        if not m.negated:
            result.flags.append(flag)
        elif m.reason == "risk factor":
            result.risk_factors.append(flag)
        else:
            result.considered.append(flag)
    rule_units = rule_states(units, rules)

    reason = sem.semantic_available(encoder)
    if reason:
        result.semantic, result.semantic_note = "off", reason
        return result
    # Units the rules already flagged or read as negated, and trivially short ones, are not embedded.
    todo = [u for u in units if u.start not in rule_units and sem.worth_embedding(u)]
    try:
        scores = sem.score_units(encoder, todo)
    except Exception as exc:  # noqa: BLE001 - the rules' result stands whatever goes wrong in the model
        result.semantic, result.semantic_note = "off", f"the semantic layer failed: {exc.__class__.__name__}"
        return result
    result.semantic = "on"
    denied: dict[int, tuple[sem.UnitScore, str]] = {}
    for s in scores:
        if s.crisis < s.limit():
            continue
        u = s.unit
        category = sem.BANNER_CATEGORY.get(s.category, s.category)
        if s.crisis <= s.contrast + sem.MARGIN:
            result.considered.append(CrisisFlag(category, u.text, u.start, u.end, "semantic", "", round(s.crisis, 3),
                                                f"closer to {s.contrast_kind} ({s.contrast:.2f}): "
                                                f"“{s.contrast_exemplar}”"))
        elif denial := sem.denies_act(u.text):
            denied[u.start] = (s, denial)
        else:
            result.flags.append(CrisisFlag(category, u.text, u.start, u.end, "semantic", "", round(s.crisis, 3),
                                           f"{s.category}; nearest: “{s.exemplar}”"))
    flagged_rest = _second_look(result, encoder, units, rules, rule_units, denied)
    for start, (s, denial) in denied.items():
        if start not in flagged_rest:
            u = s.unit
            result.considered.append(CrisisFlag(sem.BANNER_CATEGORY.get(s.category, s.category), u.text, u.start,
                                                u.end, "semantic", "", round(s.crisis, 3),
                                                f"the sentence denies it (“{denial}”)"))
    result.flags.sort(key=lambda f: f.start)
    return result
