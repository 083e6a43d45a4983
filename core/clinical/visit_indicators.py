"""Psycholinguistic indicators of a patient's visits: read back (with access checks), trended, banded.

They are computed when visits are saved (``core.clinical.indicator_records``, in
the same transaction as the visit rows). Reading never recomputes a stored result: ``by_visit`` returns
the stored indicators of the current version and only computes those that are
missing (visits saved before indicators existed, or after the word lists
changed), storing them at once.

Trends use the head scores' rules (core.clinical.trends.head_trend) with the
indicator's spread as uncertainty and the 5-95% range of the reference posts as
its scale; mention counts (sleep, appetite, energy, social) have no "worse"
direction and so never raise an alert.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.clinical import indicators
from core.clinical.access import patient_for
from core.clinical.indicator_records import backfill, compute_for_visits, compute_many, store_many  # noqa: F401
from core.clinical.trends import HeadTrend, head_trend
from core.context import Context
from core.storage import indicators as store_indicators

# Scale of an indicator whose reference range is narrower (per 100 words): a change must be at least 10% of it.
MIN_SCALE = 1.0


def by_visit(ctx: Context, patient_id: int, visits: list[dict]) -> dict[int, dict]:
    """{visit id: indicators} for the patient's visits, filling in (and storing) any that are missing."""
    patient_for(ctx, patient_id)
    ver = indicators.version()
    ids = [v["id"] for v in visits if v["patient_id"] == patient_id]
    found = store_indicators.get_many(ctx.store, ids, ver)
    todo = [(v["id"], v["text"]) for v in visits if v["id"] in set(ids) - set(found)]
    if todo:
        compute_for_visits(ctx.store, todo)
        found = store_indicators.get_many(ctx.store, ids, ver)
    ctx.audit("indicators.read", "patient", patient_id, visits=len(found), computed=len(todo), version=ver)
    return found


# ---------------------------------------------------------------- reference band
@lru_cache(maxsize=4)
def _read_reference(path: str, mtime: float) -> dict | None:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def reference(settings) -> dict | None:
    """The shipped reference band (``settings.indicators_reference``), or None when it is absent or unreadable."""
    path = Path(settings.indicators_reference)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    return _read_reference(str(path), mtime)


def reference_note(ref: dict | None) -> str:
    """The label under a reference band: where it comes from, and whether it matches the current word lists."""
    if not ref:
        return "No reference band: build it with `python -m core build-indicator-reference`."
    note = (f"Grey band: interquartile range of {ref.get('n', '?')} {ref.get('source', 'reference posts')}. "
            "These are social-media posts, not clinical notes: read the band as orientation, not a norm.")
    if ref.get("version") != indicators.version():
        note += (f" The band was built with indicators {ref.get('version')}; the notes are scored with "
                 f"{indicators.version()}, so it may not match exactly.")
    return note


# ---------------------------------------------------------------- trends
@dataclass(frozen=True)
class _Scale:
    """What head_trend reads of a head, for one indicator."""
    name: str
    label: str
    low: float
    high: float
    worse_when: str


def _scale(spec, ref: dict | None) -> _Scale:
    if spec.name == "valence":
        return _Scale(spec.name, spec.label, -1.0, 1.0, spec.worse_when or "high")
    band = ((ref or {}).get("indicators") or {}).get(spec.name) or {}
    span = max(MIN_SCALE, float(band.get("p95", 0) or 0) - float(band.get("p5", 0) or 0))
    return _Scale(spec.name, spec.label, 0.0, span, spec.worse_when or "high")


def series(stored: dict[int, dict], visits: list[dict]) -> list[tuple[dict, dict]]:
    """(visit, indicators) in visit order for the visits that have indicators."""
    ordered = sorted(visits, key=lambda v: (v["visit_date"], v["id"]))
    return [(v, stored[v["id"]]) for v in ordered if v["id"] in stored]


def trends(stored: dict[int, dict], visits: list[dict], window: int, ref: dict | None = None) -> list[HeadTrend]:
    """One trend per indicator over the visits where it has a value (same test and alert rules as the heads)."""
    rows = series(stored, visits)
    out = []
    for spec in indicators.INDICATORS:
        vals, stds = [], []
        for _, ind in rows:
            cell = ind["indicators"].get(spec.name) or {}
            if cell.get("value") is not None:
                vals.append(cell["value"])
                stds.append(cell.get("std") or 0.0)
        t = head_trend(_scale(spec, ref), vals, stds, window)
        t.reason = t.reason.replace("model uncertainty", "the count's sampling spread")
        if spec.worse_when is None:
            # A mention count: report the direction, never an alert.
            moved = t.direction in ("worse", "better")
            up = (t.change or 0) > 0 if t.change_significant else (t.slope_per_visit or 0) > 0
            t.alert = False
            t.direction = ("more" if up else "fewer") if moved else t.direction
            t.reason = ("more mentions" if up else "fewer mentions") if moved else "no significant change"
        out.append(t)
    return out
