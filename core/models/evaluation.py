"""External validity: how the heads rank real text that nobody on the project wrote (../shared/data).

Each check pairs a head with a real label it should track and reports AUROC
(with a bootstrap 95% interval) of the head's value, oriented so that 0.5 is
chance and 1.0 is a perfect ranking:

- isolation vs IMHI Irf "thwarted belongingness" (yes = higher isolation),
- support vs IMHI Irf "thwarted belongingness" (yes = lower support),
- trauma vs counsel-chat questions filed under the `trauma` topic,
- sentiment vs IMHI dreaddit stress (stressed = lower sentiment),
- sentiment vs IMHI DR depression (depressed = lower sentiment).

The data is only read, never copied or trained on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import DataError

POST_RE = re.compile(r'Consider this post:\s*"(.*)"\s*Question:', re.S)


@dataclass
class Check:
    name: str
    head: str
    higher_when_positive: bool   # True: positives should get higher head values
    source: str
    texts: list[str]
    labels: np.ndarray


def _imhi(path: Path, question: str | None = None) -> tuple[list[str], np.ndarray]:
    if not path.exists():
        raise DataError(f"{path} not found")
    df = pd.read_csv(path)
    if question:
        df = df[df["query"].str.contains(question, regex=False)]
    texts, labels = [], []
    for q, a in zip(df["query"], df["gpt-3.5-turbo"]):
        m = POST_RE.search(str(q))
        head = str(a).split("Reasoning:")[0].strip().lower()
        if not m or not head.startswith(("yes", "no")):
            continue  # an unparseable gold answer is dropped, not guessed
        texts.append(m.group(1).strip())
        labels.append(1 if head.startswith("yes") else 0)
    return texts, np.array(labels)


def _counsel_chat(path: Path, topic: str) -> tuple[list[str], np.ndarray]:
    if not path.exists():
        raise DataError(f"{path} not found")
    df = pd.read_csv(path)
    df["q"] = (df["questionTitle"].fillna("").str.strip() + ". " + df["questionText"].fillna("").str.strip()).str.strip()
    # A question answered several times may be filed under more than one topic: positive if any says so.
    grouped = df.groupby("q")["topic"].apply(lambda s: int((s == topic).any()))
    return grouped.index.tolist(), grouped.to_numpy()


def load_checks(shared: Path) -> list[Check]:
    shared = Path(shared)
    if not shared.is_dir():
        raise DataError(f"Reference data folder {shared} not found (the ../shared checkout is absent)")
    irf_t, irf_y = _imhi(shared / "imhi" / "test" / "Irf.csv", "thwarted belongingness")
    cc_t, cc_y = _counsel_chat(shared / "counsel-chat" / "counsel_chat.csv", "trauma")
    dd_t, dd_y = _imhi(shared / "imhi" / "test" / "dreaddit.csv")
    dr_t, dr_y = _imhi(shared / "imhi" / "test" / "DR.csv")
    return [
        Check("Irf thwarted belongingness", "isolation", True, "IMHI test/Irf.csv", irf_t, irf_y),
        Check("Irf thwarted belongingness", "support", False, "IMHI test/Irf.csv", irf_t, irf_y),
        Check("counsel-chat topic = trauma", "trauma", True, "counsel-chat questions", cc_t, cc_y),
        Check("dreaddit stress", "sentiment", False, "IMHI test/dreaddit.csv", dd_t, dd_y),
        Check("DR depression", "sentiment", False, "IMHI test/DR.csv", dr_t, dr_y),
    ]


def _auroc(y: np.ndarray, score: np.ndarray) -> float:
    """AUROC as the Mann-Whitney statistic on average ranks (ties count half): equal to sklearn's roc_auc_score,
    without its per-call validation, which made a 1,000-sample bootstrap take seconds."""
    from scipy.stats import rankdata

    pos = y == 1
    n1 = int(pos.sum())
    n0 = len(y) - n1
    ranks = rankdata(score)
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def auroc_with_ci(y: np.ndarray, score: np.ndarray, *, n_boot: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """AUROC with a percentile bootstrap 95 % interval (resamples holding one class only are skipped)."""
    classes = np.unique(y)
    if len(classes) != 2:
        raise ValueError("AUROC needs both classes")
    y = (np.asarray(y) == classes[1]).astype(int)  # the greater label is the positive class, as in sklearn
    score = np.asarray(score, dtype=float)
    auc = _auroc(y, score)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(y), len(y))
        if len(set(y[idx].tolist())) == 2:
            boots.append(_auroc(y[idx], score[idx]))
    lo, hi = np.percentile(boots, [2.5, 97.5]) if boots else (float("nan"), float("nan"))
    return auc, float(lo), float(hi)


def _subsample(texts: list[str], labels: np.ndarray, limit: int | None, seed: int = 0):
    if not limit or limit >= len(texts):
        return texts, labels
    idx = np.sort(np.random.default_rng(seed).choice(len(texts), limit, replace=False))
    return [texts[i] for i in idx], labels[idx]


from core.models.reliability import EXTERNAL_FILE  # noqa: E402


def evaluate(settings, shared: Path, *, limit: int | None = None, encoder=None, record: bool = False) -> str:
    """Score every check's texts with the configured heads; returns a markdown report.

    ``record`` also writes the figures to ``external_evaluation.json`` in the heads version's folder, where the
    dashboard reads which heads rank real text well enough to drive a patient's status
    (``core.models.reliability``). A run on a subsample (``limit``) is never recorded.
    """
    from scipy.stats import spearmanr

    from core.models.encoder import load_encoder, score_texts

    checks = load_checks(shared)
    enc = encoder or load_encoder(settings)
    cache: dict[str, dict] = {}  # Irf texts serve two checks: score them once
    rows = []
    for c in checks:
        texts, y = _subsample(c.texts, c.labels, limit)
        todo = [t for t in dict.fromkeys(texts) if t not in cache]
        for t, r in zip(todo, score_texts(enc, todo)):
            cache[t] = r
        values = np.array([cache[t]["heads"][c.head]["value"] for t in texts])
        oriented = values if c.higher_when_positive else -values
        auc, lo, hi = auroc_with_ci(y, oriented)
        rho = spearmanr(oriented, y).statistic
        rows.append((c, len(y), int(y.sum()), auc, lo, hi, rho))
    lines = [
        f"# External validity of heads {enc.version} ({enc.backbone_id})",
        "",
        f"{datetime.now(UTC):%Y-%m-%d} · data: {Path(shared)} (read only; never trained on)"
        + (f" · at most {limit} texts per check" if limit else ""),
        "",
        "| real label | head | expected direction | source | n (pos) | AUROC | 95% CI | Spearman |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c, n, pos, auc, lo, hi, rho in rows:
        direction = "higher" if c.higher_when_positive else "lower"
        lines.append(f"| {c.name} | {c.head} | {direction} when positive | {c.source} | {n} ({pos}) | "
                     f"{auc:.3f} | {lo:.3f}–{hi:.3f} | {rho:+.3f} |")
    lines += ["", "AUROC 0.5 = chance. The heads were trained only on the project's synthetic session texts."]
    if record:
        if limit:
            raise DataError("A subsampled evaluation (--limit) is not recorded: record a run on every text")
        import json

        payload = {"created_at": f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}", "heads_version": enc.version,
                   "backbone": enc.backbone_id, "data": str(shared), "metric": "AUROC (bootstrap 95% CI)",
                   "checks": [{"label": c.name, "head": c.head, "source": c.source, "n": n, "positives": pos,
                               "higher_when_positive": c.higher_when_positive, "auroc": round(auc, 4),
                               "ci_low": round(lo, 4), "ci_high": round(hi, 4), "spearman": round(float(rho), 4)}
                              for c, n, pos, auc, lo, hi, rho in rows]}
        target = Path(settings.heads_dir) / enc.version / EXTERNAL_FILE
        target.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        lines.append(f"\nRecorded in {target}.")
    return "\n".join(lines) + "\n"
