"""Quality statistics over QA decisions: flag rates by model version, task and reason; sign-offs against flags."""

from __future__ import annotations

from dataclasses import dataclass

from core.context import Context
from core.errors import ValidationError
from core.review.decisions import agreement_report
from core.review.items import DECISIONS, REASONS, _cutoff, _now, _sync
from core.storage import review as store_review


# ---------------------------------------------------------------- quality
@dataclass
class QualityStats:
    decisions: object        # pandas DataFrame, one row per approve/flag decision
    flag_rate: object        # period, model_version, task, reviewed, flagged, rate
    reasons: object          # period, reason, flags
    signoff: object          # signoff (draft/signed) x QA outcome counts
    signed_flagged: list     # analyses a clinician signed that QA flagged
    reviewers: object        # per reviewer progress
    status_counts: dict
    agreement: list


def quality_stats(ctx: Context, *, freq: str = "W") -> QualityStats:
    """Flag rates over time by model version, task and reason; sign-offs vs flags; reviewer progress."""
    import pandas as pd

    ctx.require("quality.read")
    if freq not in ("D", "W", "M"):
        raise ValidationError("Group by day (D), week (W) or month (M).")
    _sync(ctx)
    now = _now()
    df = pd.DataFrame(store_review.quality_rows(ctx.store),
                      columns=["id", "analysis_id", "decision", "reason", "severity", "created_at", "round",
                               "reviewer", "kind", "task", "model_version", "signoff", "signed_at"])
    counted = df[df["decision"] != "skip"].copy()
    if not counted.empty:
        stamps = pd.to_datetime(counted["created_at"], utc=True).dt.tz_localize(None)
        counted["period"] = stamps.dt.to_period(freq).dt.start_time.dt.date.astype(str)
    else:
        counted["period"] = pd.Series(dtype=str)
    counted["flagged"] = counted["decision"] == "flag"
    flag_rate = (counted.groupby(["period", "model_version", "task"], as_index=False)
                 .agg(reviewed=("flagged", "size"), flagged=("flagged", "sum")))
    flag_rate["rate"] = flag_rate["flagged"] / flag_rate["reviewed"].where(flag_rate["reviewed"] > 0)
    flags = counted[counted["flagged"]]
    reasons = flags.groupby(["period", "reason"], as_index=False).agg(flags=("id", "size"))
    reasons["reason"] = reasons["reason"].map(lambda r: REASONS.get(r, r))
    per_item = (counted.groupby(["analysis_id", "signoff"], as_index=False).agg(flagged=("flagged", "any")))
    per_item["qa"] = per_item["flagged"].map({True: "flagged by QA", False: "approved by QA"})
    signoff = per_item.groupby(["signoff", "qa"], as_index=False).agg(analyses=("analysis_id", "size"))
    signed_flagged = per_item[(per_item["signoff"] == "signed") & per_item["flagged"]]["analysis_id"].tolist()
    reviewers = df.pivot_table(index="reviewer", columns="decision", values="id", aggfunc="count", fill_value=0)
    for d in DECISIONS:
        if d not in reviewers:
            reviewers[d] = 0
    reviewers = reviewers[list(DECISIONS)].reset_index() if not reviewers.empty else \
        pd.DataFrame(columns=["reviewer", *DECISIONS])
    last = df.groupby("reviewer")["created_at"].max() if not df.empty else pd.Series(dtype=str)
    reviewers["last_activity"] = reviewers["reviewer"].map(last).fillna("").astype(str).str[:16]
    open_work = {r["username"]: r for r in store_review.item_counts_by_reviewer(ctx.store, _cutoff(now))}
    reviewers["assigned_open"] = reviewers["reviewer"].map(lambda u: open_work.get(u, {}).get("assigned_open", 0))
    reviewers["locked_now"] = reviewers["reviewer"].map(lambda u: open_work.get(u, {}).get("locked_now", 0))
    return QualityStats(
        decisions=counted, flag_rate=flag_rate, reasons=reasons, signoff=signoff, signed_flagged=signed_flagged,
        reviewers=reviewers, status_counts=store_review.status_counts(ctx.store, _cutoff(now)),
        agreement=agreement_report(ctx),
    )
