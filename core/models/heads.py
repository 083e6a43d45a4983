"""The five psychosocial heads: what each predicts, its range, and which way is worse.

No torch here: the UI and analytics import this table without loading a model.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HeadSpec:
    name: str
    kind: str              # "regression" | "binary"
    low: float
    high: float
    label: str
    worse_when: str        # "high" | "low"
    target_column: str     # column of the Mental-Health-LongParas schema
    bands: tuple[tuple[float, str], ...]  # (upper bound, severity label), ascending


HEADS: list[HeadSpec] = [
    HeadSpec("sentiment", "regression", -1.0, 1.0, "Sentiment", "low", "sentiment_intensity",
             ((-0.5, "very negative"), (0.0, "negative"), (0.5, "neutral/positive"), (1.0, "positive"))),
    HeadSpec("family_history", "binary", 0.0, 1.0, "Family history", "high", "family_history",
             ((0.3, "unlikely"), (0.7, "uncertain"), (1.0, "likely"))),
    HeadSpec("trauma", "regression", 0.0, 7.0, "Trauma", "high", "trauma_indicators",
             ((1.5, "none/minimal"), (3.5, "moderate"), (5.5, "marked"), (7.0, "severe"))),
    HeadSpec("isolation", "regression", 0.0, 4.0, "Social isolation", "high", "social_isolation_score",
             ((1.0, "connected"), (2.0, "some isolation"), (3.0, "isolated"), (4.0, "severely isolated"))),
    HeadSpec("support", "regression", 0.0, 4.0, "Support system", "low", "support_system_strength",
             ((1.0, "little support"), (2.0, "limited"), (3.0, "adequate"), (4.0, "strong"))),
]

HEAD_NAMES = [h.name for h in HEADS]


def get_head(name: str) -> HeadSpec:
    for h in HEADS:
        if h.name == name:
            return h
    raise KeyError(f"Unknown head {name!r}; heads are {', '.join(HEAD_NAMES)}")


# Where every band comes from, and what each band means on the head's scale. The cut-offs are the project's
# own reading of the training schema's scale (Mental-Health-LongParas columns), not validated clinical cut-offs.
BAND_SOURCE = ("Band cut-offs are mhdash's reading of the training data's scale ({column}, {low:g} to {high:g}); "
               "they are not a validated clinical instrument.")

BAND_MEANINGS: dict[str, dict[str, str]] = {
    "sentiment": {
        "very negative": "The note's language is strongly negative: distress, hopelessness or despair dominate.",
        "negative": "More negative than neutral language: low mood or worry is present.",
        "neutral/positive": "Neutral or mildly positive language overall.",
        "positive": "Clearly positive language: hope, relief or enjoyment dominate.",
    },
    "family_history": {
        "unlikely": "The note probably does not mention a relative's mental illness, addiction or suicide.",
        "uncertain": "The model cannot tell whether the note mentions a family history of mental illness.",
        "likely": "The note probably mentions a relative's mental illness, addiction or suicide.",
    },
    "trauma": {
        "none/minimal": "No or minimal traumatic experiences described.",
        "moderate": "Some traumatic experiences or their after-effects are described.",
        "marked": "Clear traumatic experiences with ongoing effects (e.g. nightmares, avoidance).",
        "severe": "Severe or repeated trauma with pervasive effects.",
    },
    "isolation": {
        "connected": "Regular social contact; no sign of isolation.",
        "some isolation": "Social contact is reduced or sporadic.",
        "isolated": "Little social contact; spends most time alone.",
        "severely isolated": "No meaningful social contact.",
    },
    "support": {
        "little support": "No one to turn to for practical or emotional support.",
        "limited": "Some support, but unreliable or strained.",
        "adequate": "Supportive relationships the patient can call on.",
        "strong": "A strong network of family, friends or community.",
    },
}


def band_index(spec: HeadSpec, value: float) -> int:
    """Index of the band holding ``value`` (bands ascend; a value above the range falls in the last).

    A value exactly on a cut-off belongs to the less concerning of the two bands: a sentiment of 0 is
    neutral/positive, not negative; a trauma score of 1.5 is none/minimal."""
    for i, (upper, _) in enumerate(spec.bands):
        if value < upper or (value == upper and spec.worse_when == "high"):
            return i
    return len(spec.bands) - 1


# Clinical concern of each band, 0 (none) to 3 (high), in band order. Two bands may share a level: positive
# and neutral/positive sentiment, adequate and strong support are both no concern.
BAND_CONCERN: dict[str, tuple[int, ...]] = {
    "sentiment": (3, 2, 0, 0),
    "trauma": (0, 1, 2, 3),
    "isolation": (0, 1, 2, 3),
    "support": (3, 2, 0, 0),
}


def severity_rank(spec: HeadSpec, index: int) -> int:
    """Concern of band ``index``: 0 = none, 3 = high (``BAND_CONCERN``; otherwise by band order and direction)."""
    if spec.name in BAND_CONCERN:
        return BAND_CONCERN[spec.name][index]
    return index if spec.worse_when == "high" else len(spec.bands) - 1 - index


def band_help(spec: HeadSpec, label: str) -> str:
    """What a band means and where its cut-offs come from, for a tooltip."""
    meaning = BAND_MEANINGS.get(spec.name, {}).get(label, "")
    lower = spec.low
    for upper, name in spec.bands:
        if name == label:
            break
        lower = upper
    return (f"{spec.label} {lower:g} to {upper:g}: {meaning} "
            + BAND_SOURCE.format(column=spec.target_column, low=spec.low, high=spec.high))
