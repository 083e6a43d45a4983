"""Agreement between reviewers: Cohen's kappa (two raters) and Krippendorff's alpha (nominal, any raters).

Ratings come as ``{unit: {rater: value}}``; a rater who did not rate a unit is
simply absent. Both statistics return ``None`` when they are undefined (every
rating in one category, or no unit rated twice), never a made-up number.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Agreement", "agreement", "cohen_kappa", "krippendorff_alpha_nominal", "observed_agreement"]


def _codes(values: Sequence) -> tuple[np.ndarray, int]:
    categories = {v: i for i, v in enumerate(dict.fromkeys(values))}
    return np.array([categories[v] for v in values], dtype=int), len(categories)


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two raters over the same units: (p_o - p_e) / (1 - p_e)."""
    if len(a) != len(b):
        raise ValueError("both raters need a rating for every unit")
    if not a:
        return None
    codes, k = _codes(list(a) + list(b))
    x, y = codes[: len(a)], codes[len(a):]
    table = np.zeros((k, k))
    np.add.at(table, (x, y), 1)
    table /= table.sum()
    p_o = np.trace(table)
    p_e = float(table.sum(axis=1) @ table.sum(axis=0))
    if np.isclose(p_e, 1.0):
        return None
    return float((p_o - p_e) / (1 - p_e))


def krippendorff_alpha_nominal(units: Sequence[Sequence[Hashable | None]]) -> float | None:
    """Krippendorff's alpha for nominal data; each unit lists its ratings (None = missing).

    alpha = 1 - D_o / D_e with the coincidence matrix o_ck: every ordered pair of
    ratings within a unit adds 1 / (m_u - 1), units with fewer than 2 ratings are
    not pairable and are left out.
    """
    rated = [[v for v in unit if v is not None] for unit in units]
    rated = [u for u in rated if len(u) >= 2]
    if not rated:
        return None
    codes, k = _codes([v for u in rated for v in u])
    o = np.zeros((k, k))
    pos = 0
    for unit in rated:
        m = len(unit)
        c = np.bincount(codes[pos:pos + m], minlength=k).astype(float)
        pos += m
        # Ordered pairs of different ratings: c_i * c_j; same category: c_i * (c_i - 1).
        o += (np.outer(c, c) - np.diag(c)) / (m - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    disagree_observed = o.sum() - np.trace(o)
    disagree_expected = (n_c.sum() ** 2 - (n_c ** 2).sum()) / (n - 1)
    if np.isclose(disagree_expected, 0.0):
        return None
    return float(1.0 - disagree_observed / disagree_expected)


def observed_agreement(units: Sequence[Sequence[Hashable | None]]) -> float | None:
    """Share of agreeing pairs among all rating pairs within units (raw percent agreement)."""
    agree = total = 0
    for unit in units:
        vals = [v for v in unit if v is not None]
        m = len(vals)
        if m < 2:
            continue
        _, counts = np.unique(_codes(vals)[0], return_counts=True)
        agree += int((counts * (counts - 1)).sum())
        total += m * (m - 1)
    return agree / total if total else None


@dataclass(frozen=True)
class Agreement:
    method: str           # "cohen_kappa" | "krippendorff_alpha" | "n/a"
    value: float | None
    percent: float | None  # raw pairwise agreement, for context
    units: int             # units rated by at least two raters
    raters: int


def agreement(ratings: Mapping[Hashable, Mapping[Hashable, Hashable]]) -> Agreement:
    """Cohen's kappa when exactly two raters rated the shared units, Krippendorff's alpha beyond that."""
    units = {u: r for u, r in ratings.items() if len(r) >= 2}
    raters = sorted({rater for r in units.values() for rater in r}, key=str)
    if not units:
        return Agreement("n/a", None, None, 0, len(raters))
    rows = [[r.get(rater) for rater in raters] for r in units.values()]
    percent = observed_agreement(rows)
    if len(raters) == 2:
        a, b = raters
        pairs = [(r[a], r[b]) for r in units.values()]
        return Agreement("cohen_kappa", cohen_kappa([p[0] for p in pairs], [p[1] for p in pairs]), percent,
                         len(units), 2)
    return Agreement("krippendorff_alpha", krippendorff_alpha_nominal(rows), percent, len(units), len(raters))
