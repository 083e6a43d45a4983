"""How far each head can be trusted, from what was measured on it (files only, no model loaded).

Two recorded measurements per heads version:

* ``metrics.json`` ``test.mae_<head>``: the mean absolute error on the held-out split of the training data
  (synthetic texts). The dashboard never shows an interval narrower than this error, nor a digit finer
  than it: the error on real notes can only be larger.
* ``external_evaluation.json`` (``python -m core evaluate-heads --record``): AUROC of each head against a
  real label on text nobody on the project wrote. A head drives a patient's status (worsening) only when
  every recorded check of it reaches ``MIN_EXTERNAL_AUROC``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from core.models.heads import HEADS, band_index, get_head

EXTERNAL_FILE = "external_evaluation.json"
MIN_EXTERNAL_AUROC = 0.70
Z95 = 1.96


@dataclass(frozen=True)
class HeadReliability:
    head: str
    test_error: float | None          # MAE on held-out synthetic texts (regression heads)
    external: tuple[dict, ...] = field(default_factory=tuple)  # recorded real-text checks of this head

    @property
    def external_auroc(self) -> float | None:
        """The weakest recorded real-text AUROC (None when none was recorded)."""
        return min((c["auroc"] for c in self.external), default=None)

    @property
    def adequate(self) -> bool:
        """Whether the head ranks real text well enough to drive a patient's status."""
        return self.external_auroc is not None and self.external_auroc >= MIN_EXTERNAL_AUROC


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


@lru_cache(maxsize=16)
def _version_reliability(vdir: str) -> dict[str, HeadReliability]:
    # A version folder never changes once written, except for the evaluation recorded into it later: the
    # key includes that file's modification time (see ``reliability``).
    folder = Path(vdir.split("|")[0])
    test = _read(folder / "metrics.json").get("test") or {}
    checks = _read(folder / EXTERNAL_FILE).get("checks") or []
    out = {}
    for spec in HEADS:
        err = test.get(f"mae_{spec.name}")
        out[spec.name] = HeadReliability(spec.name, float(err) if isinstance(err, (int, float)) else None,
                                         tuple(c for c in checks if c.get("head") == spec.name))
    return out


def reliability(heads_dir, version: str | None) -> dict[str, HeadReliability]:
    """Per head: measured error and recorded real-text checks of one heads version (empty ones if unknown)."""
    if not version:
        return {h.name: HeadReliability(h.name, None) for h in HEADS}
    folder = Path(heads_dir) / version
    ext = folder / EXTERNAL_FILE
    stamp = ext.stat().st_mtime_ns if ext.exists() else 0
    return _version_reliability(f"{folder}|{stamp}")


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float
    decimals: int          # digits worth showing, from the interval's half-width
    confidence: str        # "high" | "medium" | "low", from the interval's width on the head's range

    def fmt(self, x: float) -> str:
        # + 0.0 turns the -0.0 that rounding leaves of a small negative value into 0.0 ("0.0", never "-0.0").
        return f"{round(x, self.decimals) + 0.0:.{self.decimals}f}"

    @property
    def shown(self) -> float:
        """The value as the reader sees it (rounded to the digits shown): what its band is read from."""
        return float(self.fmt(self.value))

    @property
    def text(self) -> str:
        if self.fmt(self.low) == self.fmt(self.high):
            return self.fmt(self.value)  # the interval is narrower than the digit shown
        return f"{self.fmt(self.value)} (interval {self.fmt(self.low)} to {self.fmt(self.high)})"


def interval(head: str, value: float, std: float | None, test_error: float | None) -> Interval:
    """The head's value with a 95% interval no narrower than its measured error, rounded honestly.

    Half-width = max(1.96 x MC-dropout std, measured test error). Digits: none finer than the half-width's
    leading digit (an error of 1.5 shows whole numbers, 0.2 one decimal; never more than one). Confidence from the interval's
    width as a share of the head's range: up to 30% high, up to 60% medium, wider low; for a probability (binary
    head) also from how decided it is (low when the interval reaches 0.5, at most medium in the uncertain band).
    """
    spec = get_head(head)
    span = spec.high - spec.low
    half = max(Z95 * float(std or 0.0), float(test_error or 0.0))
    if half <= 0:
        half = span / 100
    decimals = max(0, -math.floor(math.log10(half * 1.05)))  # an error of 0.99 reads as whole numbers
    low, high = max(spec.low, value - half), min(spec.high, value + half)
    share = (high - low) / span
    confidence = "high" if share <= 0.30 else "medium" if share <= 0.60 else "low"
    if spec.kind == "binary":
        # A probability can be precisely undecided: 0.5 (0.4 to 0.5) is narrow, yet says nothing either way.
        # "uncertain · high confidence" contradicts itself, so a probability is never more confident than it is
        # decided: low when its interval reaches 0.5, at most medium when it reaches the uncertain band.
        unsure_low, unsure_high = spec.bands[0][0], spec.bands[1][0]
        if low <= 0.5 <= high:
            confidence = "low"
        elif confidence == "high" and low < unsure_high and high > unsure_low:
            confidence = "medium"
    return Interval(value, low, high, min(decimals, 1), confidence)


def reading(head: str, value: float, std: float | None, test_error: float | None) -> tuple[Interval, int]:
    """(interval, band index) of one head value: the band of the number as shown (rounded first, then banded, so
    "0.0" never reads "negative"). The screen and the exported summaries state a score from this."""
    iv = interval(head, value, std, test_error)
    return iv, band_index(get_head(head), iv.shown)


def probability_text(p: float) -> str:
    """A model's probability as shown: one decimal, but never "1.0" or "0.0". Rounded, 0.97 reads as certainty,
    and no model here is certain about a note (the task heads were measured on other people's posts)."""
    if p >= 0.95:
        return "> 0.95"
    if p <= 0.05:
        return "< 0.05"
    return f"{p:.1f}"


def probability_phrase(p: float) -> str:
    """ "≈ 0.7", "> 0.95" or "< 0.05": how a label line states the model's probability."""
    text = probability_text(p)
    return text if text[0] in "<>" else f"≈ {text}"
