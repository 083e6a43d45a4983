"""Computing and storing the indicators of visits (no access checks: callers have made them).

Kept apart from ``visit_indicators`` so that saving a visit (core.clinical.patients) can use it without an
import circle.
"""

from __future__ import annotations

import time

from core.clinical import indicators
from core.storage import indicators as store_indicators


def compute_many(texts: list[str]) -> list[tuple[dict, float]]:
    """(indicators, milliseconds) of each text: the CPU work, done before a write transaction opens."""
    results = []
    for text in texts:
        start = time.perf_counter()
        out = indicators.compute(text)
        results.append((out, (time.perf_counter() - start) * 1000))
    return results


def store_many(store, visit_ids: list[int], results: list[tuple[dict, float]]) -> None:
    """Store ``compute_many`` results for these visits; joins the caller's transaction."""
    ver = indicators.version()
    with store.tx():
        for vid, (out, ms) in zip(visit_ids, results, strict=True):
            store_indicators.put(store, vid, ver, out, ms)


def compute_for_visits(store, visits: list[tuple[int, str]]) -> None:
    """Compute and store the indicators of (visit id, text) pairs."""
    store_many(store, [vid for vid, _ in visits], compute_many([text for _, text in visits]))


def backfill(store, limit: int = 10_000, progress=None) -> int:
    """Compute the indicators of every stored visit that lacks the current version's (a CLI step)."""
    ver = indicators.version()
    done = 0
    while done < limit:
        batch = store_indicators.missing(store, ver, limit=min(200, limit - done))
        if not batch:
            break
        compute_for_visits(store, [(v["id"], v["text"]) for v in batch])
        done += len(batch)
        if progress:
            progress(done)
    return done
