"""How long model work takes on this machine, measured from the stored run times (never a constant)."""

from __future__ import annotations

from statistics import median

from core.context import Context
from core.storage import records


def typical_seconds(ctx: Context, kind: str = "llm", limit: int = 50) -> tuple[float, int] | None:
    """(median seconds, number of runs) over the newest ``limit`` runs of ``kind``; None before any run.

    Language-model runs answered from the cache are stored with their lookup time only, so the median is of
    what a person waited, which is what a tooltip should promise.
    """
    ctx.require("analyses.run")
    # A task head's label stored alone (kind "llm", no language model involved) is not a language-model run.
    runs = records.recent_durations(ctx.store, kind, limit, skip_key_prefix="head-label:" if kind == "llm" else "")
    return (median(runs) / 1000, len(runs)) if runs else None
