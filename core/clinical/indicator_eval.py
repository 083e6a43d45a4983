"""Do the indicators separate groups of real text nobody here wrote? And the reference band they are drawn against.

Three comparisons on ../shared/data (read, never copied or trained on):

* IMHI DR: posts whose gold answer says the poster suffers from depression vs not
  (test, train and val files; a post in several files counts once);
* IMHI dreaddit: stressed vs not stressed posts (same files);
* counsel-chat: questions filed under the ``depression`` topic vs all other questions.

For each indicator, Cohen's d (positive group minus the rest, in pooled standard
deviations) with a 95% percentile bootstrap interval (groups resampled
separately). An indicator "separates" a comparison when the interval excludes 0.

The reference band is the interquartile range (and 5/50/95th percentiles) of
each indicator over the DR posts labelled *not* depressed.
"""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from core.clinical import indicators
from core.errors import DataError

# The research expectation (direction in the positive group) checked here rather than assumed.
EXPECTED = {"absolutist": "higher", "first_person": "higher", "negative_emotion": "higher",
            "positive_emotion": "lower", "valence": "lower", "hopelessness": "higher", "helplessness": "higher"}


def _imhi_posts(files: list[Path]) -> tuple[list[str], np.ndarray]:
    from core.models.evaluation import _imhi

    seen: dict[str, int] = {}
    for f in files:
        if f.exists():
            texts, labels = _imhi(f)
            for t, y in zip(texts, labels, strict=True):
                seen.setdefault(t, int(y))
    if not seen:
        raise DataError(f"None of {', '.join(str(f) for f in files)} could be read")
    return list(seen), np.array(list(seen.values()))


def load_groups(shared: Path) -> list[tuple[str, str, list[str], np.ndarray]]:
    """(comparison, source, texts, labels 1/0) for the three comparisons."""
    from core.models.evaluation import _counsel_chat

    shared = Path(shared)
    if not shared.is_dir():
        raise DataError(f"Reference data folder {shared} not found (the ../shared checkout is absent)")
    imhi = shared / "imhi"
    out = []
    for name, stem, label in (("DR", "DR", "depressed vs not (IMHI DR)"),
                              ("dreaddit", "dreaddit", "stressed vs not (IMHI dreaddit)")):
        texts, y = _imhi_posts([imhi / "test" / f"{stem}.csv", imhi / "train" / stem / "train.csv",
                                imhi / "train" / stem / "val.csv"])
        out.append((label, f"IMHI {name} test+train+val posts", texts, y))
    texts, y = _counsel_chat(shared / "counsel-chat" / "counsel_chat.csv", "depression")
    out.append(("depression topic vs rest (counsel-chat)", "counsel-chat questions", texts, y))
    return out


def indicator_matrix(texts: list[str], progress=None) -> np.ndarray:
    """texts x indicators, NaN where an indicator has no value (not English, no words, third person)."""
    m = np.full((len(texts), len(indicators.NAMES)), np.nan)
    for i, text in enumerate(texts):
        vals = indicators.summary(indicators.compute(text))
        m[i] = [np.nan if vals[n] is None else vals[n] for n in indicators.NAMES]
        if progress:
            progress(1)
    return m


def cohens_d(pos: np.ndarray, neg: np.ndarray) -> float:
    pos, neg = pos[~np.isnan(pos)], neg[~np.isnan(neg)]
    if len(pos) < 2 or len(neg) < 2:
        return float("nan")
    pooled = np.sqrt(((len(pos) - 1) * pos.var(ddof=1) + (len(neg) - 1) * neg.var(ddof=1))
                     / (len(pos) + len(neg) - 2))
    return float((pos.mean() - neg.mean()) / pooled) if pooled > 0 else 0.0


def d_with_ci(pos: np.ndarray, neg: np.ndarray, *, n_boot: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """Cohen's d and its 95% percentile bootstrap interval (each group resampled on its own)."""
    pos, neg = pos[~np.isnan(pos)], neg[~np.isnan(neg)]
    d = cohens_d(pos, neg)
    if np.isnan(d):
        return d, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    boots = [cohens_d(pos[rng.integers(0, len(pos), len(pos))], neg[rng.integers(0, len(neg), len(neg))])
             for _ in range(n_boot)]
    lo, hi = np.nanpercentile(boots, [2.5, 97.5])
    return d, float(lo), float(hi)


def evaluate(shared: Path, *, n_boot: int = 1000, limit: int | None = None, progress=None) -> dict:
    """Cohen's d with intervals for every indicator and comparison, plus the reference band."""
    results = {"date": datetime.now(UTC).strftime("%Y-%m-%d"), "version": indicators.version(),
               "machine": f"{platform.machine()} {platform.processor() or ''}".strip(), "comparisons": []}
    reference = None
    for label, source, texts, y in load_groups(shared):
        if limit and limit < len(texts):
            idx = np.sort(np.random.default_rng(0).choice(len(texts), limit, replace=False))
            texts, y = [texts[i] for i in idx], y[idx]
        m = indicator_matrix(texts, progress)
        rows = {}
        for k, name in enumerate(indicators.NAMES):
            pos, neg = m[y == 1, k], m[y == 0, k]
            d, lo, hi = d_with_ci(pos, neg, n_boot=n_boot)
            rows[name] = {"d": d, "lo": lo, "hi": hi, "n_pos": int((~np.isnan(pos)).sum()),
                          "n_neg": int((~np.isnan(neg)).sum()),
                          "mean_pos": float(np.nanmean(pos)) if (~np.isnan(pos)).any() else None,
                          "mean_neg": float(np.nanmean(neg)) if (~np.isnan(neg)).any() else None}
        results["comparisons"].append({"label": label, "source": source, "n_pos": int(y.sum()),
                                       "n_neg": int(len(y) - y.sum()), "indicators": rows})
        if reference is None:  # the DR comparison comes first: its not-depressed posts make the band
            reference = build_reference(m[y == 0], source)
    results["reference"] = reference
    return results


def build_reference(neg_matrix: np.ndarray, source: str) -> dict:
    """Percentiles of each indicator over the not-depressed posts (the band on the trajectory charts)."""
    band = {}
    for k, name in enumerate(indicators.NAMES):
        col = neg_matrix[:, k]
        col = col[~np.isnan(col)]
        if not len(col):
            continue
        p5, p25, p50, p75, p95 = (round(float(x), 4) for x in np.percentile(col, [5, 25, 50, 75, 95]))
        band[name] = {"p5": p5, "p25": p25, "p50": p50, "p75": p75, "p95": p95, "n": int(len(col))}
    return {"version": indicators.version(), "n": int(len(neg_matrix)),
            "source": f"posts labelled not depressed ({source})", "kind": "social-media posts",
            "indicators": band}


def write_reference(reference: dict, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(reference, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def _fmt(r: dict) -> str:
    if r["d"] != r["d"]:
        return "—"
    mark = "**" if r["lo"] > 0 or r["hi"] < 0 else ""
    return f"{mark}{r['d']:+.2f}{mark} [{r['lo']:+.2f}, {r['hi']:+.2f}]"


def verdicts(results: dict) -> list[str]:
    """Plain sentences: which indicators separate which comparison, and whether the expectation holds."""
    lines = []
    for comp in results["comparisons"]:
        sep = [n for n, r in comp["indicators"].items() if r["d"] == r["d"] and (r["lo"] > 0 or r["hi"] < 0)]
        flat = [n for n in comp["indicators"] if n not in sep]
        lines.append(f"- {comp['label']}: separate — "
                     + (", ".join(f"{n} ({comp['indicators'][n]['d']:+.2f})" for n in sep) or "none")
                     + "; do not separate (interval includes 0) — " + (", ".join(flat) or "none") + ".")
    dr = results["comparisons"][0]["indicators"]
    for name, direction in EXPECTED.items():
        r = dr[name]
        if r["d"] != r["d"]:
            continue
        holds = (r["lo"] > 0) if direction == "higher" else (r["hi"] < 0)
        lines.append(f"- Expectation \"{name} {direction} in depression\" on DR: "
                     + ("holds" if holds else "does not hold") + f" (d {r['d']:+.2f} [{r['lo']:+.2f}, {r['hi']:+.2f}]).")
    return lines


def markdown(results: dict) -> str:
    comps = results["comparisons"]
    head = "| Indicator | " + " | ".join(f"{c['label']} (n {c['n_pos']} / {c['n_neg']})" for c in comps) + " |"
    lines = [f"Indicators {results['version']}, {results['date']}, {results['machine']}. Cohen's d (positive "
             "group minus the rest, pooled SD) with a 95% bootstrap interval; **bold**: the interval excludes 0.",
             "", head, "| --- |" + " --- |" * len(comps)]
    for name in indicators.NAMES:
        lines.append(f"| {indicators.SPECS[name].label} | " + " | ".join(_fmt(c["indicators"][name]) for c in comps)
                     + " |")
    lines += ["", *verdicts(results)]
    return "\n".join(lines) + "\n"
