"""The QA review queue: review items, their priority, claims and what a reviewer is shown.

The module is `items` rather than `queue` because `core.review.queue` is the queue-reading function.

An analysis (heads scores or an LLM answer) becomes a review item the first
time the queue is read. Items are ordered by priority: crisis language in the
visit, then outputs the model was unsure of or could not parse. A reviewer
claims an item (a lock that frees itself after ``LOCK_MINUTES``), then
approves, flags or skips it. With an overlap above one, an item stays open
until that many reviewers have decided it independently; disagreements go to
adjudication. Sending an item back starts a new review round.

Reviewers only see de-identified visit text, and their flags exports (CSV,
JSONL) carry de-identified free text only. The training exports are the one
place the real text leaves: they need ``review.export_training``, held by the
clinical lead (who already reads every patient), not by reviewers, and are
audited. Every action is in the audit trail with the item's state before and
after.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from core.context import Context
from core.errors import AnalysisNotFound, ItemLocked, ValidationError
from core.llm.tasks import TASKS
from core.models.heads import HEAD_NAMES, get_head
from core.safety.crisis_state import results_for
from core.safety.deid import deidentify
from core.storage import accounts as account_rows
from core.storage import records
from core.storage import review as store_review

# Fixed list of flag reasons: key stored, label shown.
REASONS: dict[str, str] = {
    "wrong_label": "Wrong label",
    "unsupported_rationale": "Rationale not supported by the text",
    "missed_risk": "Missed risk",
    "unsafe_wording": "Unsafe or harmful wording",
    "bias": "Bias or stereotype",
    "unreadable": "Output unreadable / parse failure",
    "other": "Other",
}
SEVERITIES = ("low", "medium", "high", "critical")
DECISIONS = ("approve", "flag", "skip")
STATUSES = ("open", "in_review", "resolved")

# A lock older than this is free again: an abandoned item returns to the queue by itself.
LOCK_MINUTES = 30
# Reviewers per item unless changed with set_overlap (stored in the database).
DEFAULT_OVERLAP = 1
MAX_OVERLAP = 5
# Below this confidence an output counts as low-confidence (raises its priority).
LOW_CONFIDENCE = 0.6
WITHHELD = "[withheld: de-identification is not available, so the text cannot be shown to reviewers]"


def _now() -> datetime:
    return datetime.now(UTC)


def _ts(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def _cutoff(now: datetime) -> str:
    return _ts(now - timedelta(minutes=LOCK_MINUTES))


# ---------------------------------------------------------------- priority
def confidence_of(analysis: dict) -> float | None:
    """LLM: the highest label probability. Heads: 1 - max over heads of 2*std / range (std of half the range = 0)."""
    out = analysis.get("outputs") or {}
    if analysis["kind"] == "llm":
        probs = out.get("probabilities") or {}
        if not out.get("label") or not probs:
            return 0.0  # no parsable label: treat as no confidence at all
        return float(max(probs.values()))
    if analysis["kind"] == "heads":
        spreads = []
        for name, h in (out.get("heads") or {}).items():
            if name in HEAD_NAMES and h.get("std") is not None:
                spec = get_head(name)
                spreads.append(2 * float(h["std"]) / (spec.high - spec.low))
        return max(0.0, 1.0 - max(spreads)) if spreads else None
    return None


def _crisis(ctx: Context, visit_id: int, text: str) -> bool:
    """The visit's stored crisis result (both layers when it was saved), computed now if it has none."""
    return results_for(ctx.store, [{"id": visit_id, "text": text or ""}])[visit_id].flagged


# A task head and an LLM that both have a reliable recorded evaluation and disagree on the label: a real signal.
# (A disagreement with an unreliable LLM is not recorded as one, so it cannot flood the queue.)
DISAGREEMENT_PRIORITY = 45.0


def priority_of(analysis: dict, crisis: bool) -> float:
    """Crisis language first (+100), then unparsable outputs (+50), then a disagreement between two reliable label
    sources (+45), then low confidence (up to +50)."""
    score = 100.0 if crisis else 0.0
    out = analysis.get("outputs") or {}
    if analysis["kind"] == "llm" and not out.get("label"):
        score += 50.0
    if analysis["kind"] == "llm" and out.get("disagreement") is True:
        score += DISAGREEMENT_PRIORITY
    conf = confidence_of(analysis)
    if conf is not None:
        score += 40.0 * (1.0 - conf)
        if conf < LOW_CONFIDENCE:
            score += 10.0
    return round(score, 4)


def _sync(ctx: Context) -> int:
    """Turn analyses not yet in the queue into review items (priority computed once: outputs never change)."""
    new = store_review.unqueued_analyses(ctx.store)
    if not new:
        return 0
    overlap = get_overlap(ctx, check=False)
    items, crisis_by_visit = [], {}
    for a in new:
        text = a.pop("visit_text")
        if a["visit_id"] not in crisis_by_visit:  # several outputs share one note: detect once
            crisis_by_visit[a["visit_id"]] = _crisis(ctx, a["visit_id"], text)
        crisis = crisis_by_visit[a["visit_id"]]
        items.append({"analysis_id": a["id"], "priority": priority_of(a, crisis), "confidence": confidence_of(a),
                      "crisis": crisis, "required_reviews": overlap})
    store_review.insert_items(ctx.store, items, _ts(_now()))
    return len(items)


# ---------------------------------------------------------------- de-identification
def _deid(text: str | None) -> str | None:
    return deidentify(text) if text else text


# Model outputs are small documents; anything nested deeper than this is withheld rather than walked.
DEID_MAX_DEPTH = 20
# Free-text fields of a decision or adjudication (reviewers may quote the note in them).
_DECISION_TEXT = ("comment", "corrected_rationale")
# Values the system itself sets from fixed vocabularies or its own versions, never text from a note: kept as they
# are (a version string would otherwise look like a date to the de-identifier).
_SYSTEM_KEYS = frozenset({"task", "label", "kind", "model_id", "model_version", "prompt_version", "adapter_hash"})


def _deid_all(value, depth: int = 0):
    """Every string anywhere inside ``value`` (dicts, lists, tuples, at any depth) de-identified; keys kept,
    numbers and booleans unchanged. A reviewer sees nothing that skipped de-identification."""
    if isinstance(value, str):
        return _deid(value)
    if depth >= DEID_MAX_DEPTH:
        return WITHHELD if isinstance(value, (dict, list, tuple)) else value
    if isinstance(value, dict):
        return {k: v if k in _SYSTEM_KEYS and isinstance(v, str) else _deid_all(v, depth + 1)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_deid_all(v, depth + 1) for v in value]
    return value


def _deid_decision(d: dict | None) -> dict | None:
    if d is None:
        return None
    out = dict(d)
    for key in _DECISION_TEXT:
        if isinstance(out.get(key), str):
            out[key] = _deid(out[key])
    return out


# ---------------------------------------------------------------- queue
@dataclass
class QueueFilters:
    statuses: tuple[str, ...] = ()
    tasks: tuple[str, ...] = ()          # LLM task names and/or "heads"
    model_versions: tuple[str, ...] = ()
    date_from: date | str | None = None  # analysis date, inclusive
    date_to: date | str | None = None
    flagged: bool | None = None          # True: flagged at least once; False: never; None: either
    mine: bool = False                   # assigned to me or locked by me


@dataclass
class QueuePage:
    rows: list[dict]
    total: int
    page: int
    page_size: int
    facets: dict = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _summary(row: dict) -> str:
    out = row.get("outputs") or {}
    if row["kind"] == "llm":
        return str(out.get("label") or "⚠ no label (parse failure)")
    heads = out.get("heads") or {}
    return ", ".join(f"{get_head(n).label} {h['value']:.2f}" for n, h in heads.items() if n in HEAD_NAMES)


def _date(value) -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError as exc:
        raise ValidationError(f"{value!r} is not a date (use YYYY-MM-DD).") from exc


def queue(ctx: Context, filters: QueueFilters | None = None, *, page: int = 1, page_size: int = 25) -> QueuePage:
    """The review queue, highest priority first, filtered; each row has a one-line summary and confidence."""
    user = ctx.require("review.queue")
    f = filters or QueueFilters()
    bad = set(f.statuses) - set(STATUSES)
    if bad:
        raise ValidationError(f"Unknown status {', '.join(sorted(bad))}; use {', '.join(STATUSES)}.")
    date_from, date_to = _date(f.date_from), _date(f.date_to)
    if date_from and date_to and date_from > date_to:
        raise ValidationError("The start date is after the end date.")
    page, page_size = max(1, int(page)), min(max(1, int(page_size)), 200)
    _sync(ctx)
    rows, total = store_review.list_queue(
        ctx.store, cutoff=_cutoff(_now()), reviewer_id=user.id, statuses=tuple(f.statuses), tasks=tuple(f.tasks),
        model_versions=tuple(f.model_versions), date_from=date_from, date_to=date_to, flagged=f.flagged,
        mine=f.mine, limit=page_size, offset=(page - 1) * page_size,
    )
    for r in rows:
        r["summary"] = _summary(r)
        r.pop("outputs", None)  # the rationale and text are shown only in the (de-identified) item view
    return QueuePage(rows, total, page, page_size, store_review.queue_facets(ctx.store))


def facets(ctx: Context) -> dict[str, list[str]]:
    """Choices for the queue filters: tasks and model versions present in the queue."""
    ctx.require("review.queue")
    _sync(ctx)
    return store_review.queue_facets(ctx.store)


def reviewers(ctx: Context) -> list[str]:
    """Usernames of the active QA reviewers (for assignment)."""
    ctx.require("review.queue")
    return [u["username"] for u in account_rows.list_users(ctx.store) if u["role"] == "qa_reviewer" and u["active"]]


def _item_state(ctx: Context, analysis_id: int, now: datetime | None = None) -> dict:
    item = store_review.get_item(ctx.store, analysis_id, _cutoff(now or _now()))
    if item is None:
        records.get_analysis(ctx.store, analysis_id)  # raises AnalysisNotFound for unknown ids
        _sync(ctx)
        item = store_review.get_item(ctx.store, analysis_id, _cutoff(now or _now()))
        if item is None:
            raise AnalysisNotFound(f"Analysis {analysis_id} is not a reviewable output.")
    return item


def _snapshot(item: dict) -> dict:
    return {"status": item["effective_status"], "locked_by": item["live_lock"], "round": item["round"],
            "assigned_to": item["assigned_to"], "required_reviews": item["required_reviews"]}


def item_view(ctx: Context, analysis_id: int) -> dict:
    """One item for a reviewer: de-identified visit text and rationale, scores, state and decision history.

    Decisions of other reviewers in the current round are hidden until the item
    is resolved, so overlapping reviews stay independent.
    """
    user = ctx.require("review.queue")
    item = _item_state(ctx, analysis_id)
    analysis = records.get_analysis(ctx.store, analysis_id)
    visit = records.get_visit(ctx.store, analysis["visit_id"])
    # Evidence quotes the note (nested spans, matched sentences), and so may the rationale and notes: every string
    # of the outputs, at any depth and of every kind of output, is de-identified.
    out = _deid_all(analysis["outputs"])
    if analysis["kind"] == "llm":
        for key in ("evidence", "notes"):
            out.setdefault(key, [])
    history = [_deid_decision(d) for d in store_review.item_decisions(ctx.store, analysis_id)]
    ctx.audit("review.view", "analysis", analysis_id, visit_id=visit["id"], deidentified=True)
    resolved = item["effective_status"] == "resolved"
    visible = [d for d in history if d["round"] < item["round"] or d["reviewer_id"] == user.id or resolved]
    return {
        "analysis_id": analysis_id, "kind": analysis["kind"], "task": analysis["task"], "outputs": out,
        "model_id": analysis["model_id"], "model_version": analysis["model_version"],
        "prompt_version": analysis["prompt_version"], "signoff": analysis["status"],
        "created_at": analysis["created_at"], "visit_date": visit["visit_date"],
        "text": _deid(visit["text"]), "confidence": item["confidence"], "crisis": bool(item["crisis"]),
        "priority": item["priority"], "status": item["effective_status"], "round": item["round"],
        "required_reviews": item["required_reviews"], "locked_by": item["live_lock"],
        "locked_by_name": item["locked_by_name"] if item["live_lock"] else None,
        "assigned_to_name": item["assigned_to_name"], "locked_by_me": item["live_lock"] == user.id,
        "decisions": visible, "labels": task_labels(analysis["task"], analysis["outputs"]),
        "adjudication": _deid_decision(store_review.get_adjudication(ctx.store, analysis_id, item["round"])),
    }


# ---------------------------------------------------------------- locking
def claim(ctx: Context, analysis_id: int) -> dict:
    """Lock the item for the caller; ItemLocked when another reviewer holds a live lock."""
    user = ctx.require("review.act")
    now = _now()
    with ctx.store.tx():
        item = _item_state(ctx, analysis_id, now)
        if item["effective_status"] == "resolved":
            raise ValidationError("This item is already resolved; send it back for re-review to change it.")
        if item["assigned_to"] not in (None, user.id):
            raise ItemLocked(f"This item is assigned to {item['assigned_to_name']}.")
        mine = [d for d in store_review.item_decisions(ctx.store, analysis_id, item["round"])
                if d["reviewer_id"] == user.id and d["decision"] != "skip"]
        if mine:
            raise ValidationError("You already reviewed this item in this round; another reviewer needs to.")
        if not store_review.try_lock(ctx.store, analysis_id, user.id, _ts(now), _cutoff(now)):
            raise ItemLocked(f"{item['locked_by_name']} is reviewing this item (locked since "
                             f"{item['locked_at'][:16].replace('T', ' ')} UTC; the lock frees itself after "
                             f"{LOCK_MINUTES} minutes).")
        after = store_review.get_item(ctx.store, analysis_id, _cutoff(now))
        if item["live_lock"] != user.id:
            ctx.audit("review.claim", "analysis", analysis_id, before=_snapshot(item), after=_snapshot(after))
    return after


def claim_next(ctx: Context, tasks: tuple[str, ...] = ()) -> int | None:
    """Claim the highest-priority item the caller may review next (assigned ones first); None when done."""
    user = ctx.require("review.act")
    _sync(ctx)
    for _ in range(5):  # another reviewer may take the same item between the look-up and the lock
        now = _now()
        aid = store_review.next_free_item(ctx.store, user.id, _cutoff(now), tuple(tasks))
        if aid is None:
            return None
        try:
            claim(ctx, aid)
            return aid
        except ItemLocked:
            continue
    return None


def release(ctx: Context, analysis_id: int) -> None:
    """Give the item back to the queue without a decision."""
    user = ctx.require("review.act")
    now = _now()
    with ctx.store.tx():
        item = _item_state(ctx, analysis_id, now)
        if item["live_lock"] != user.id:
            return
        store_review.set_item(ctx.store, analysis_id, _ts(now), status="open", unlock=True)
        after = _item_state(ctx, analysis_id, now)
        ctx.audit("review.release", "analysis", analysis_id, before=_snapshot(item), after=_snapshot(after))


def task_labels(task: str, outputs: dict | None = None) -> list[str]:
    """The labels a corrected answer may take: the task registry's, else the labels the model scored."""
    spec = TASKS.get(task)
    labels = list(getattr(spec, "labels", None) or [])
    if not labels and outputs:
        labels = list((outputs.get("probabilities") or {}).keys())
    return labels


def get_overlap(ctx: Context, *, check: bool = True) -> int:
    if check:
        ctx.require("review.queue")
    value = store_review.get_config(ctx.store, "overlap")
    return int(value) if value else DEFAULT_OVERLAP


