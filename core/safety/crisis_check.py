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

A sentence in which the rules found a negation or someone else's suicide is
not flagged by the semantic layer alone (it is listed as considered): the
rules read "denies SI" more reliably than a sentence embedding does. The check
never calls the language model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from core.safety import crisis_semantic as sem
from core.safety.crisis import detect_crisis

# Bump when the rules, the exemplar bank or the threshold change: stored results of an older version are
# recomputed when next read.
DETECTOR_VERSION = "layered-1"
# Not bumped for the semantic denial guard (``denies_act``): it only withdraws semantic flags, and a bump makes the
# summaries recompute old visits with the rules alone, which would drop their stored semantic flags until each visit
# is opened with the encoder. Old results keep a flag the guard would now list as considered (the safe side).


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


def assess_crisis(text: str, encoder=None) -> CrisisAssessment:
    """Both layers on ``text``; ``encoder`` None (or remote) runs the rules only and says so."""

    result = CrisisAssessment()
    if not isinstance(text, str) or not text.strip():
        result.semantic_note = "empty note"
        return result
    units = sem.split_units(text)
    rules = detect_crisis(text)
    rule_units: dict[int, str] = {}   # unit start -> "active" / "quiet"
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
        if u is not None:
            state = "active" if not m.negated else "quiet"
            if rule_units.get(u.start) != "active":
                rule_units[u.start] = state

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
    for s in scores:
        if s.crisis < s.limit():
            continue
        u = s.unit
        category = sem.BANNER_CATEGORY.get(s.category, s.category)
        detail = f"{s.category}; nearest: “{s.exemplar}”"
        state = rule_units.get(u.start)
        if state == "active":
            continue  # the rule already flagged this sentence
        if s.crisis <= s.contrast + sem.MARGIN:
            result.considered.append(CrisisFlag(category, u.text, u.start, u.end, "semantic", "", round(s.crisis, 3),
                                                f"closer to {s.contrast_kind} ({s.contrast:.2f}): "
                                                f"“{s.contrast_exemplar}”"))
        elif state == "quiet":
            result.considered.append(CrisisFlag(category, u.text, u.start, u.end, "semantic", "", round(s.crisis, 3),
                                                "the rules read a negation or someone else's suicide here"))
        elif denial := sem.denies_act(u.text):
            result.considered.append(CrisisFlag(category, u.text, u.start, u.end, "semantic", "", round(s.crisis, 3),
                                                f"the sentence denies it (“{denial}”)"))
        else:
            result.flags.append(CrisisFlag(category, u.text, u.start, u.end, "semantic", "", round(s.crisis, 3),
                                           detail))
    result.flags.sort(key=lambda f: f.start)
    return result
