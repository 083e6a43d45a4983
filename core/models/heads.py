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
