"""Trajectories of head scores across a patient's visits, and when to raise an alert.

Two signals, both in the head's "worse" direction (higher isolation is worse,
higher support is better):

* **change since last visit** is significant when it exceeds 1.96 x the
  combined uncertainty of the two scores (sqrt(std1^2 + std2^2), from the
  model's MC-dropout spread) *and* at least 10% of the head's range, so that
  noise inside the model's own uncertainty never raises an alert;
* **trend over the last k visits** (k = settings.trend_window): Kendall's tau
  of score against visit order with its p-value, plus the Theil-Sen slope per
  visit. A trend counts when p < 0.10 and the fitted change over the window is
  at least 15% of the range. With k = 4 only a perfectly monotone run gets
  there, which is the intended conservatism.

An alert is raised when either signal points the worse way *and* is clinically readable:

* the change also exceeds the heads' measured error (``core.models.reliability``: the mean error on held-out
  texts), so a step the model cannot resolve never alerts, and
* the score moved into a band of higher clinical concern (``core.models.heads.BAND_CONCERN``), so every alert
  reads as "from *some isolation* to *isolated*", a change a clinician can check in the two notes.

Family history is not a trajectory: a relative's illness is mentioned in a note or not
(``core.clinical.family``), so it has no trend and never alerts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.models.heads import HEADS, band_index, severity_rank
from core.models.reliability import reliability

NOT_TRENDS = ("family_history",)  # facts mentioned in a visit, not trajectories

MIN_CHANGE_FRACTION = 0.10
MIN_TREND_FRACTION = 0.15
TREND_P = 0.10


@dataclass
class HeadTrend:
    head: str
    label: str
    last: float | None
    change: float | None          # last - previous
    change_significant: bool
    slope_per_visit: float | None  # Theil-Sen over the window
    trend_p: float | None
    direction: str                 # "worse" | "better" | "steady" | "n/a"
    alert: bool
    reason: str
    compare: tuple[int, int] | None = None   # the two visits (ids) an alert compares, earlier first
    positions: tuple[int, int] | None = None  # their positions in the scored series (set by head_trend)


def _sign_worse(spec) -> int:
    return 1 if spec.worse_when == "high" else -1


def _concern(spec, value: float) -> int | None:
    """Band of clinical concern of a value; None for a scale without bands (e.g. the word-count indicators)."""
    if not getattr(spec, "bands", None):
        return None
    return severity_rank(spec, band_index(spec, value))


def _crosses(spec, before: float, after: float) -> bool:
    """Whether a change is clinically readable: into another band of concern (always, on a scale without bands)."""
    return _concern(spec, before) is None or _concern(spec, before) != _concern(spec, after)


def _band(spec, value: float) -> str:
    return spec.bands[band_index(spec, value)][1]


def head_trend(spec, values: list[float], stds: list[float], window: int = 4, error: float | None = None) -> HeadTrend:
    """Trend of one head from its scores in visit order; ``error``: the head's measured error (a floor)."""
    span = spec.high - spec.low
    floor = float(error or 0.0)
    if not values:
        return HeadTrend(spec.name, spec.label, None, None, False, None, None, "n/a", False, "no scores yet")
    last = values[-1]
    if len(values) < 2:
        return HeadTrend(spec.name, spec.label, last, None, False, None, None, "n/a", False, "one visit scored")
    worse = _sign_worse(spec)
    change = last - values[-2]
    combined = math.sqrt((stds[-1] if stds else 0) ** 2 + (stds[-2] if len(stds) > 1 else 0) ** 2)
    change_sig = (abs(change) > max(1.96 * combined, floor) and abs(change) >= MIN_CHANGE_FRACTION * span
                  and _crosses(spec, values[-2], last))

    slope = p = None
    trend_worse = trend_better = False
    recent = values[-window:]
    if len(recent) >= 3:
        from scipy.stats import kendalltau, theilslopes

        order = list(range(len(recent)))
        if len(set(recent)) > 1:
            tau, p = kendalltau(order, recent)
            slope = float(theilslopes(recent, order)[0])
            big = abs(slope) * (len(recent) - 1) >= max(MIN_TREND_FRACTION * span, floor)
            readable = _crosses(spec, recent[0], recent[-1])
            if p is not None and not math.isnan(p) and p < TREND_P and big and readable:
                trend_worse = slope * worse > 0
                trend_better = slope * worse < 0
            p = None if p is None or math.isnan(p) else float(p)
        else:
            slope, p = 0.0, 1.0

    change_worse = change_sig and change * worse > 0
    change_better = change_sig and change * worse < 0
    alert = change_worse or trend_worse
    if change_worse or trend_worse:
        direction = "worse"
    elif change_better or trend_better:
        direction = "better"
    else:
        direction = "steady"
    reasons, positions = [], None
    moved = "rose" if (change or 0) > 0 else "fell"
    if not getattr(spec, "bands", None):  # a scale without bands: the change in its own units
        if change_worse:
            reasons.append(f"worsened by {abs(change):.2f} since the last visit (beyond model uncertainty)")
        if trend_worse:
            reasons.append(f"steady worsening over the last {len(recent)} visits (Kendall p={p:.2f})")
        return HeadTrend(spec.name, spec.label, last, change, change_sig, slope, p, direction, alert,
                         "; ".join(reasons) or "no significant worsening")
    if trend_worse:
        first = values[-len(recent)]
        rising = "risen" if slope > 0 else "fallen"
        reasons.append(f"has {rising} over the last {len(recent)} visits, from {_band(spec, first)} to "
                       f"{_band(spec, last)}")
        positions = (len(values) - len(recent), len(values) - 1)
    elif change_worse:
        reasons.append(f"{moved} from {_band(spec, values[-2])} to {_band(spec, last)} since the previous visit")
        positions = (len(values) - 2, len(values) - 1)
    if not reasons:
        reasons.append("no worsening beyond the model's uncertainty")
    return HeadTrend(spec.name, spec.label, last, change, change_sig, slope, p, direction, alert, "; ".join(reasons),
                     positions=positions)


def latest_heads_per_visit(analyses: list[dict]) -> list[dict]:
    """The newest heads result of each visit, in visit order (visit date, then visit id).

    After a heads upgrade a visit holds one result per version; reading them all
    as one series would turn a change of model into a "change since last visit".
    ``analyses`` are stored rows (any kinds; others are skipped).
    """
    newest: dict[int, dict] = {}
    for a in analyses:
        if a["kind"] == "heads" and (a["visit_id"] not in newest or a["id"] > newest[a["visit_id"]]["id"]):
            newest[a["visit_id"]] = a
    return sorted(newest.values(), key=lambda a: (a.get("visit_date") or "", a["visit_id"]))


def trends_from_analyses(analyses: list[dict], window: int, heads_dir=None) -> list[HeadTrend]:
    """Per-head trends of a patient from their stored analyses, one (newest) heads result per visit.

    The one place that turns stored rows into trends: the patient list, the
    cohort view, the trajectory tab and the export all call it with
    ``settings.trend_window`` (and ``settings.heads_dir``, whose recorded errors
    set the floor of a readable change), so they never disagree.
    """
    series = latest_heads_per_visit(analyses)
    if not series:
        return []
    errors = None
    if heads_dir is not None:
        errors = {k: r.test_error for k, r in reliability(heads_dir, series[-1]["model_version"]).items()}
    trends = patient_trends([a["outputs"] for a in series], window, errors)
    for t in trends:
        if t.positions:
            t.compare = (series[t.positions[0]]["visit_id"], series[t.positions[1]]["visit_id"])
    return trends


def patient_trends(series: list[dict], window: int = 4, errors: dict[str, float | None] | None = None
                   ) -> list[HeadTrend]:
    """``series``: heads outputs in visit order ({"heads": {name: {"value","std"}}}); one trend per head that
    is a trajectory (family history is not)."""
    out = []
    for spec in HEADS:
        if spec.name in NOT_TRENDS:
            continue
        vals = [s["heads"][spec.name]["value"] for s in series if spec.name in s.get("heads", {})]
        stds = [s["heads"][spec.name].get("std", 0.0) for s in series if spec.name in s.get("heads", {})]
        out.append(head_trend(spec, vals, stds, window, (errors or {}).get(spec.name)))
    return out


def arrow(trend: HeadTrend) -> str:
    """A compact arrow for lists: the direction of the score, coloured by whether that is worse."""
    if trend.change is None:
        return "·"
    if abs(trend.change) < 1e-9:
        return "→"
    return "↑" if trend.change > 0 else "↓"
