"""Drift of head outputs against a version's reference.

Each heads version carries ``reference.json``: per head, a sample
of its values on a reference corpus. ``drift_report`` compares the values
logged since a date with it: PSI on the reference's deciles and the
two-sample Kolmogorov-Smirnov test.

No torch here.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

from core.errors import ValidationError
from core.models.heads import HEAD_NAMES
from core.models.reference import load_reference
from core.serving.server import PREDICT_ENDPOINTS
from core.storage import open_store
from core.storage import serving as sql

# PSI bands commonly used in model monitoring: < 0.1 stable, 0.1-0.25 moderate, >= 0.25 major shift.
PSI_MODERATE, PSI_MAJOR = 0.10, 0.25
KS_ALPHA = 0.01
MIN_RECENT = 100          # below this, PSI on 10 bins is mostly sampling noise (expected ~9/n)


# ----------------------------------------------------------------------------- drift

_SINCE_RE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(since: str | datetime, now: datetime | None = None) -> datetime:
    """'30d', '12h', '2w', '90m' or an ISO date/time -> an aware UTC datetime."""
    if isinstance(since, datetime):
        return since if since.tzinfo else since.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    m = _SINCE_RE.match(str(since))
    if m:
        return now - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    try:
        when = datetime.fromisoformat(str(since).strip())
    except ValueError as exc:
        raise ValidationError(f"--since {since!r}: use 30d, 12h, 2w, 90m or an ISO date like 2025-01-31") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def psi(reference, recent, bins: int = 10, eps: float = 1e-4) -> float:
    """Population stability index of ``recent`` against ``reference``, on the reference's quantile bins."""
    import numpy as np

    ref = np.asarray(reference, dtype=float)
    cur = np.asarray(recent, dtype=float)
    if ref.size == 0 or cur.size == 0:
        return float("nan")
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    ref_share = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1) / ref.size
    cur_share = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1) / cur.size
    ref_share, cur_share = np.clip(ref_share, eps, None), np.clip(cur_share, eps, None)
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))


def ks(reference, recent) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov (statistic, p-value)."""
    from scipy.stats import ks_2samp

    if len(reference) == 0 or len(recent) == 0:
        return float("nan"), float("nan")
    res = ks_2samp(reference, recent)
    return float(res.statistic), float(res.pvalue)


def _status(p: float, pvalue: float, n_recent: int) -> str:
    if n_recent < MIN_RECENT:
        return "too few predictions"
    if not math.isfinite(p):
        return "no reference"
    if p >= PSI_MAJOR:
        return "major shift"
    if p >= PSI_MODERATE or (math.isfinite(pvalue) and pvalue < KS_ALPHA):
        return "moderate shift"
    return "stable"


def drift_report(settings, since: str | datetime = "30d", *, store=None, version: str | None = None):
    """Per heads version and head: recent (logged) values vs the version's reference. A pandas DataFrame.

    Columns: version, head, n_reference, n_recent, recent_mean, reference_mean, psi, ks_stat, ks_pvalue, status.
    ``version`` limits the report to one version; by default every version that served since ``since``.
    Versions without a saved reference get rows with status "no reference".
    """
    import numpy as np
    import pandas as pd


    start = parse_since(since)
    own = store is None
    store = store or open_store(settings.database, key=settings.database_key)
    try:
        rows = sql.predictions_since(store, start.isoformat(timespec="microseconds"),
                                     endpoints=PREDICT_ENDPOINTS, model_version=version)
    finally:
        if own:
            store.close()
    by_version: dict[str, dict[str, list[float]]] = {}
    seen: dict[str, set] = {}
    for r in rows:
        # A text scored twice (cache hits, retries) counts once: drift is about the texts, not the traffic.
        if r["text_hash"] in seen.setdefault(r["model_version"], set()):
            continue
        seen[r["model_version"]].add(r["text_hash"])
        for name, h in r["outputs"].get("heads", {}).items():
            by_version.setdefault(r["model_version"], {}).setdefault(name, []).append(h["value"])
    if version is not None:
        by_version.setdefault(version, {})
    out = []
    for v in sorted(by_version):
        ref = load_reference(settings.heads_dir, v) or {}
        ref_heads = ref.get("heads", {})
        for name in HEAD_NAMES:
            recent = by_version[v].get(name, [])
            reference = ref_heads.get(name, [])
            p = psi(reference, recent) if reference and recent else float("nan")
            stat, pvalue = ks(reference, recent) if reference and recent else (float("nan"), float("nan"))
            status = "no reference" if not reference else _status(p, pvalue, len(recent))
            out.append({"version": v, "head": name, "n_reference": len(reference), "n_recent": len(recent),
                        "recent_mean": float(np.mean(recent)) if recent else float("nan"),
                        "reference_mean": float(np.mean(reference)) if reference else float("nan"),
                        "psi": p, "ks_stat": stat, "ks_pvalue": pvalue, "status": status})
    columns = ["version", "head", "n_reference", "n_recent", "recent_mean", "reference_mean", "psi", "ks_stat",
               "ks_pvalue", "status"]
    df = pd.DataFrame(out, columns=columns)
    df.attrs["since"] = start.isoformat(timespec="seconds")
    return df


