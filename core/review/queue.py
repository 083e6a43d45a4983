"""The QA review queue: reviewers check model outputs, and their corrections retrain the models.

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

import csv
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from core.review.agreement import agreement
from core.context import Context
from core.errors import AnalysisNotFound, ItemLocked, ModelUnavailable, ValidationError
from core.models.heads import HEAD_NAMES, HEADS, get_head
from core.storage import records
from core.storage import review as store_review

__all__ = [
    "REASONS", "SEVERITIES", "DECISIONS", "STATUSES", "LOCK_MINUTES", "QueueFilters", "QueuePage",
    "queue", "facets", "reviewers", "item_view", "claim", "claim_next", "release", "decide", "send_back", "assign",
    "get_overlap", "set_overlap", "disagreements", "adjudicate", "agreement_report", "export",
    "EXPORT_FORMATS", "FLAG_FORMATS", "TRAINING_FORMATS", "EXPORT_PERMISSION", "export_formats", "quality_stats",
    "confidence_of", "priority_of",
]

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


def _crisis(text: str) -> bool:
    try:
        from core.safety.crisis import detect_crisis
    except ImportError:  # the detector ships separately; without it, no crisis boost
        return False
    return bool(detect_crisis(text or "").flagged)


def priority_of(analysis: dict, crisis: bool) -> float:
    """Crisis language first (+100), then unparsable outputs (+50), then low confidence (up to +40)."""
    score = 100.0 if crisis else 0.0
    out = analysis.get("outputs") or {}
    if analysis["kind"] == "llm" and not out.get("label"):
        score += 50.0
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
            crisis_by_visit[a["visit_id"]] = _crisis(text)
        crisis = crisis_by_visit[a["visit_id"]]
        items.append({"analysis_id": a["id"], "priority": priority_of(a, crisis), "confidence": confidence_of(a),
                      "crisis": crisis, "required_reviews": overlap})
    store_review.insert_items(ctx.store, items, _ts(_now()))
    return len(items)


# ---------------------------------------------------------------- de-identification
def _deidentifier():
    try:
        from core.safety.deid import deidentify
    except ImportError:
        return None
    return deidentify


def _deid(text: str | None) -> str | None:
    if not text:
        return text
    fn = _deidentifier()
    return WITHHELD if fn is None else fn(text)


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
    return [u["username"] for u in records.list_users(ctx.store) if u["role"] == "qa_reviewer" and u["active"]]


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


# ---------------------------------------------------------------- decisions
def task_labels(task: str, outputs: dict | None = None) -> list[str]:
    """The labels a corrected answer may take: the task registry's, else the labels the model scored."""
    try:
        from core.llm.tasks import TASKS
    except ImportError:
        TASKS = {}
    spec = TASKS.get(task) if hasattr(TASKS, "get") else None
    labels = list(getattr(spec, "labels", None) or [])
    if not labels and outputs:
        labels = list((outputs.get("probabilities") or {}).keys())
    return labels


def _clean_correction(analysis: dict, decision: str, reason, severity, comment, corrected_label, corrected_scores,
                      corrected_rationale) -> dict:
    comment = (comment or "").strip()
    corrected_label = (corrected_label or "").strip() or None
    corrected_rationale = (corrected_rationale or "").strip() or None
    corrected_scores = {k: v for k, v in (corrected_scores or {}).items() if v is not None} or None
    if decision not in DECISIONS:
        raise ValidationError(f"Unknown decision {decision!r}; use {', '.join(DECISIONS)}.")
    if decision != "flag":
        if reason or severity or corrected_label or corrected_scores or corrected_rationale:
            raise ValidationError("Reasons, severities and corrections belong to a flag; choose 'flag'.")
        return {"reason": None, "severity": None, "comment": comment, "corrected_label": None,
                "corrected_scores": None, "corrected_rationale": None}
    if reason not in REASONS:
        raise ValidationError("Choose a reason for the flag: " + ", ".join(REASONS.values()) + ".")
    if severity not in SEVERITIES:
        raise ValidationError(f"Choose a severity: {', '.join(SEVERITIES)}.")
    if reason == "other" and not comment:
        raise ValidationError("Say what is wrong in the comment when the reason is 'Other'.")
    kind = analysis["kind"]
    if kind != "llm" and (corrected_label or corrected_rationale):
        raise ValidationError("Only language-model answers take a corrected label or rationale.")
    if kind != "heads" and corrected_scores:
        raise ValidationError("Only head scores take corrected scores.")
    if corrected_label:
        labels = task_labels(analysis["task"], analysis["outputs"])
        if labels and corrected_label not in labels:
            raise ValidationError(f"{corrected_label!r} is not a label of {analysis['task']}: {', '.join(labels)}.")
    if corrected_scores:
        clean = {}
        for name, value in corrected_scores.items():
            if name not in HEAD_NAMES:
                raise ValidationError(f"Unknown head {name!r}; heads are {', '.join(HEAD_NAMES)}.")
            spec = get_head(name)
            try:
                value = float(value)
            except (TypeError, ValueError) as exc:
                raise ValidationError(f"{spec.label}: {value!r} is not a number.") from exc
            if not spec.low <= value <= spec.high:
                raise ValidationError(f"{spec.label} must be between {spec.low:g} and {spec.high:g}.")
            if spec.kind == "binary" and value not in (0.0, 1.0):
                # The heads trainer reads this column as a 0/1 label, not a probability.
                raise ValidationError(f"{spec.label} is yes/no: correct it to 0 or 1.")
            clean[name] = value
        corrected_scores = clean
    if len(comment) > 5000 or (corrected_rationale and len(corrected_rationale) > 5000):
        raise ValidationError("Comments and rationales are limited to 5000 characters.")
    return {"reason": reason, "severity": severity, "comment": comment, "corrected_label": corrected_label,
            "corrected_scores": corrected_scores, "corrected_rationale": corrected_rationale}


def decide(ctx: Context, analysis_id: int, decision: str, *, reason: str | None = None, severity: str | None = None,
           comment: str = "", corrected_label: str | None = None, corrected_scores: dict | None = None,
           corrected_rationale: str | None = None) -> dict:
    """Record the caller's approve / flag / skip on an item they hold (or that nobody holds) and release it.

    The item is resolved once ``required_reviews`` reviewers approved or flagged
    it in the current round; a skip records the note but does not count.
    """
    user = ctx.require("review.act")
    analysis = records.get_analysis(ctx.store, analysis_id)
    fields = _clean_correction(analysis, decision, reason, severity, comment, corrected_label, corrected_scores,
                               corrected_rationale)
    now = _now()
    with ctx.store.tx():
        item = _item_state(ctx, analysis_id, now)
        if item["effective_status"] == "resolved":
            raise ValidationError("This item is already resolved; send it back for re-review to change it.")
        claim(ctx, analysis_id)  # takes the lock if free, raises ItemLocked if someone else holds it
        flag_id = store_review.insert_flag(ctx.store, analysis_id=analysis_id, reviewer_id=user.id,
                                           decision=decision, round=item["round"], now=_ts(now), **fields)
        done = {d["reviewer_id"] for d in store_review.item_decisions(ctx.store, analysis_id, item["round"])
                if d["decision"] != "skip"}
        status = "resolved" if len(done) >= item["required_reviews"] else "open"
        store_review.set_item(ctx.store, analysis_id, _ts(now), status=status, unlock=True)
        after = _item_state(ctx, analysis_id, now)
        ctx.audit("review.decide", "analysis", analysis_id, flag_id=flag_id, decision=decision, round=item["round"],
                  before=_snapshot(item), after=_snapshot(after), **fields)
    return after


def send_back(ctx: Context, analysis_id: int, comment: str) -> dict:
    """Reopen an item for a fresh round of reviews (earlier decisions stay in its history)."""
    ctx.require("review.act")
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError("Say why the item goes back for re-review.")
    now = _now()
    with ctx.store.tx():
        item = _item_state(ctx, analysis_id, now)
        if item["live_lock"] not in (None, ctx.user.id):
            raise ItemLocked(f"{item['locked_by_name']} is reviewing this item right now.")
        store_review.set_item(ctx.store, analysis_id, _ts(now), status="open", unlock=True,
                              round=item["round"] + 1)
        after = _item_state(ctx, analysis_id, now)
        ctx.audit("review.send_back", "analysis", analysis_id, comment=comment, before=_snapshot(item),
                  after=_snapshot(after))
    return after


def assign(ctx: Context, analysis_id: int, username: str | None) -> dict:
    """Assign an item to a reviewer (or clear the assignment with None)."""
    ctx.require("review.act")
    target = None
    if username:
        row = records.get_user_by_name(ctx.store, username)
        if row is None or not row["active"]:
            raise ValidationError(f"No active account named {username!r}.")
        if row["role"] != "qa_reviewer":
            raise ValidationError(f"{username} is not a QA reviewer.")
        target = row["id"]
    now = _now()
    with ctx.store.tx():
        item = _item_state(ctx, analysis_id, now)
        store_review.set_item(ctx.store, analysis_id, _ts(now), assigned_to=target)
        after = _item_state(ctx, analysis_id, now)
        ctx.audit("review.assign", "analysis", analysis_id, assignee=username, before=_snapshot(item),
                  after=_snapshot(after))
    return after


def get_overlap(ctx: Context, *, check: bool = True) -> int:
    if check:
        ctx.require("review.queue")
    value = store_review.get_config(ctx.store, "overlap")
    return int(value) if value else DEFAULT_OVERLAP


def set_overlap(ctx: Context, reviewers: int) -> int:
    """How many independent reviews an item needs; applies to new and unresolved items. Returns items changed."""
    ctx.require("review.act")
    if not isinstance(reviewers, int) or not 1 <= reviewers <= MAX_OVERLAP:
        raise ValidationError(f"Overlap must be a whole number from 1 to {MAX_OVERLAP}.")
    _sync(ctx)
    before = get_overlap(ctx)
    now = _ts(_now())
    with ctx.store.tx():
        store_review.set_config(ctx.store, "overlap", str(reviewers), ctx.user.id, now)
        changed = store_review.set_required_reviews_open(ctx.store, reviewers, now)
        ctx.audit("review.overlap", "review_config", "overlap", before=before, after=reviewers, items=changed)
    return changed


# ---------------------------------------------------------------- agreement and adjudication
def _verdict(d: dict) -> tuple:
    return (d["decision"], d["reason"], d["corrected_label"])


def _effective_label(d: dict) -> str | None:
    if d["decision"] == "flag":
        return d["corrected_label"]
    return (d["outputs"] or {}).get("label")


def disagreements(ctx: Context) -> list[dict]:
    """Items whose reviewers disagree in the current round (decision, reason or corrected label), not yet adjudicated."""
    ctx.require("review.queue")
    done = store_review.adjudicated_keys(ctx.store)
    by_item: dict[int, list[dict]] = defaultdict(list)
    for d in store_review.current_round_decisions(ctx.store):
        by_item[d["analysis_id"]].append(d)
    out = []
    for aid, ds in by_item.items():
        latest = {d["reviewer_id"]: d for d in ds}  # one verdict per reviewer
        if len(latest) < 2 or len({_verdict(d) for d in latest.values()}) < 2 or (aid, ds[0]["round"]) in done:
            continue
        first = ds[0]
        out.append({
            "analysis_id": aid, "task": first["task"], "kind": first["kind"], "model_version": first["model_version"],
            "round": first["round"], "status": first["item_status"],
            "decisions": [{k: d[k] for k in ("username", "decision", "reason", "severity", "comment",
                                             "corrected_label", "corrected_scores", "corrected_rationale",
                                             "created_at")} for d in latest.values()],
        })
    return out


def adjudicate(ctx: Context, analysis_id: int, decision: str, *, reason: str | None = None,
               severity: str | None = None, comment: str = "", corrected_label: str | None = None,
               corrected_scores: dict | None = None, corrected_rationale: str | None = None) -> dict:
    """Settle a disagreement with a final verdict; resolves the item. The final verdict is what exports use."""
    user = ctx.require("review.act")
    if decision not in ("approve", "flag"):
        raise ValidationError("An adjudication approves or flags the output.")
    analysis = records.get_analysis(ctx.store, analysis_id)
    fields = _clean_correction(analysis, decision, reason, severity, comment, corrected_label, corrected_scores,
                               corrected_rationale)
    now = _now()
    with ctx.store.tx():
        item = _item_state(ctx, analysis_id, now)
        if store_review.get_adjudication(ctx.store, analysis_id, item["round"]):
            raise ValidationError("This round of the item is already adjudicated.")
        if item["live_lock"] not in (None, user.id):
            raise ItemLocked(f"{item['locked_by_name']} is reviewing this item right now.")
        adj_id = store_review.insert_adjudication(ctx.store, analysis_id=analysis_id, round=item["round"],
                                                  adjudicator_id=user.id, decision=decision, now=_ts(now), **fields)
        store_review.set_item(ctx.store, analysis_id, _ts(now), status="resolved", unlock=True)
        after = _item_state(ctx, analysis_id, now)
        ctx.audit("review.adjudicate", "analysis", analysis_id, adjudication_id=adj_id, decision=decision,
                  round=item["round"], before=_snapshot(item), after=_snapshot(after), **fields)
    return after


def agreement_report(ctx: Context) -> list[dict]:
    """Agreement per task (approve vs flag, and the effective label) and per flag reason, current rounds only.

    Cohen's kappa when the items were rated by exactly two reviewers, Krippendorff's
    alpha (nominal) with more. ``value`` is None when undefined (e.g. everyone agreed
    on one category), ``percent`` is the raw pairwise agreement.
    """
    ctx.require("quality.read")
    decisions = store_review.current_round_decisions(ctx.store)
    latest: dict[tuple[int, int], dict] = {}
    for d in decisions:
        latest[(d["analysis_id"], d["reviewer_id"])] = d
    groups: dict[tuple[str, str], dict] = defaultdict(lambda: defaultdict(dict))
    for (aid, rid), d in latest.items():
        groups[("task", d["task"])][aid][rid] = d["decision"]
        if d["kind"] == "llm":
            label = _effective_label(d)
            if label is not None:
                groups[("task label", d["task"])][aid][rid] = label
        for reason in REASONS:
            groups[("reason", reason)][aid][rid] = d["decision"] == "flag" and d["reason"] == reason
    rows = []
    for (scope, name), ratings in sorted(groups.items()):
        a = agreement(ratings)
        if scope == "reason" and (a.units == 0 or not any(v for r in ratings.values() for v in r.values())):
            continue  # a reason nobody used says nothing about agreement
        rows.append({"scope": scope, "name": REASONS.get(name, name) if scope == "reason" else name,
                     "method": a.method, "value": a.value, "percent": a.percent, "items": a.units,
                     "reviewers": a.raters})
    return rows


# ---------------------------------------------------------------- export
EXPORT_FORMATS = {
    "csv": "Flags with values, comments and corrections (CSV, safe to open in a spreadsheet)",
    "jsonl": "Flags with values, comments and corrections (JSON lines)",
    "heads": "Heads training set (real visit text): python -m core train --data",
    "lora": "LoRA training set in IMHI format (real visit text): python -m core train-lora --data",
}
FLAG_FORMATS = ("csv", "jsonl")
TRAINING_FORMATS = ("heads", "lora")
# Flags exports hold de-identified text only (reviewers'); training sets hold the real notes, so they need a
# role that may read every patient's notes anyway (the clinical lead).
EXPORT_PERMISSION = {"csv": "review.export", "jsonl": "review.export",
                     "heads": "review.export_training", "lora": "review.export_training"}
FLAG_COLUMNS = ["flag_id", "analysis_id", "round", "kind", "task", "model_id", "model_version", "prompt_version",
                "signoff", "reviewer", "decision", "reason", "reason_label", "severity", "comment", "model_label",
                "model_confidence", "model_scores", "corrected_label", "corrected_scores", "corrected_rationale",
                "created_at"]


@dataclass
class ExportResult:
    data: bytes
    filename: str
    mime: str
    rows: int
    skipped: dict[str, int] = field(default_factory=dict)


def export_formats(ctx: Context) -> list[str]:
    """The export formats the caller may use, in EXPORT_FORMATS order."""
    user = ctx.user
    return [f for f in EXPORT_FORMATS if user is not None and user.can(EXPORT_PERMISSION[f])]


def _flag_records(ctx: Context, decisions: tuple[str, ...]) -> list[dict]:
    """Decisions for the flags export; the reviewers' free text is de-identified (a note may quote the visit)."""
    out = []
    for r in store_review.export_flags(ctx.store, decisions=decisions):
        o = r["outputs"] or {}
        out.append({
            "flag_id": r["flag_id"], "analysis_id": r["analysis_id"], "round": r["round"], "kind": r["kind"],
            "task": r["task"], "model_id": r["model_id"], "model_version": r["model_version"],
            "prompt_version": r["prompt_version"], "signoff": r["signoff"], "reviewer": r["reviewer"],
            "decision": r["decision"], "reason": r["reason"], "reason_label": REASONS.get(r["reason"] or "", ""),
            "severity": r["severity"], "comment": _deid(r["comment"]),
            "model_label": o.get("label") if r["kind"] == "llm" else None,
            "model_confidence": confidence_of(r),
            "model_scores": {n: h.get("value") for n, h in (o.get("heads") or {}).items()} if r["kind"] == "heads"
            else None,
            "corrected_label": r["corrected_label"], "corrected_scores": r["corrected_scores"],
            "corrected_rationale": _deid(r["corrected_rationale"]), "created_at": r["created_at"],
        })
    return out


def _flags_csv(rows: list[dict]) -> str:
    from core.clinical.export import safe_cell

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(FLAG_COLUMNS)
    for r in rows:
        w.writerow([safe_cell(json.dumps(r[c], ensure_ascii=False) if isinstance(r[c], dict) else r[c])
                    for c in FLAG_COLUMNS])
    return buf.getvalue()


def _final_verdicts(ctx: Context) -> list[dict]:
    """For each resolved item: the adjudication of its current round, else its reviewers' combined verdict.

    Combined: approve when every reviewer approved; a flag's corrections merged
    (corrected scores averaged per head, the label only when the reviewers who
    gave one agree, the latest corrected rationale). Items whose corrected labels
    conflict are left out until adjudicated.
    """
    out = []
    for item in store_review.resolved_items(ctx.store):
        adj = store_review.get_adjudication(ctx.store, item["analysis_id"], item["round"])
        if adj:
            out.append({**item, "decision": adj["decision"], "corrected_label": adj["corrected_label"],
                        "corrected_scores": adj["corrected_scores"],
                        "corrected_rationale": adj["corrected_rationale"]})
            continue
        ds = [d for d in store_review.item_decisions(ctx.store, item["analysis_id"], item["round"])
              if d["decision"] != "skip"]
        if not ds:
            continue
        flags = [d for d in ds if d["decision"] == "flag"]
        if not flags:
            out.append({**item, "decision": "approve", "corrected_label": None, "corrected_scores": None,
                        "corrected_rationale": None})
            continue
        labels = {d["corrected_label"] for d in flags if d["corrected_label"]}
        if len(labels) > 1:
            out.append({**item, "decision": "conflict"})
            continue
        scores: dict[str, list[float]] = defaultdict(list)
        for d in flags:
            for k, v in (d["corrected_scores"] or {}).items():
                scores[k].append(v)
        rationales = [d["corrected_rationale"] for d in flags if d["corrected_rationale"]]
        out.append({**item, "decision": "flag", "corrected_label": next(iter(labels), None),
                    "corrected_scores": {k: sum(v) / len(v) for k, v in scores.items()} or None,
                    "corrected_rationale": rationales[-1] if rationales else None})
    return out


def _heads_rows(verdicts: list[dict], include_approved: bool, skipped: dict) -> list[dict]:
    rows = []
    for v in verdicts:
        if v["kind"] != "heads":
            continue
        if v["decision"] == "conflict":
            skipped["conflicting corrections"] += 1
            continue
        if v["decision"] == "flag" and not v["corrected_scores"]:
            skipped["flagged without corrected scores"] += 1
            continue
        if v["decision"] == "approve" and not include_approved:
            continue
        model = v["outputs"].get("heads") or {}
        corrected = v["corrected_scores"] or {}
        row = {"text": v["visit_text"]}
        for spec in HEADS:
            # Heads the reviewer left uncorrected keep the model's value: the reviewer saw and accepted it.
            value = corrected.get(spec.name, (model.get(spec.name) or {}).get("value"))
            if value is not None and spec.kind == "binary":
                value = int(float(value) >= 0.5)  # the trainer reads 0/1; an accepted probability becomes its label
            row[spec.target_column] = None if value is None else value if spec.kind == "binary" else float(value)
        if any(row[s.target_column] is None for s in HEADS):
            skipped["missing head values"] += 1
            continue
        rows.append(row)
    return rows


def _lora_rows(verdicts: list[dict], include_approved: bool, skipped: dict) -> list[dict]:
    from core.llm import tasks as task_registry

    rows = []
    for v in verdicts:
        if v["kind"] != "llm":
            continue
        if v["decision"] == "conflict":
            skipped["conflicting corrections"] += 1
            continue
        if v["decision"] == "approve" and not include_approved:
            continue
        label = v.get("corrected_label") or v["outputs"].get("label")
        rationale = v.get("corrected_rationale") or (v["outputs"].get("rationale") if v["decision"] == "approve"
                                                     else None)
        if v["decision"] == "flag" and not v.get("corrected_rationale"):
            # The model's own rationale argues for the output the reviewer rejected: not a training target.
            skipped["flagged without corrected rationale"] += 1
            continue
        if not label or not rationale:
            skipped["no label or rationale"] += 1
            continue
        if v["task"] not in task_registry.TASKS:
            skipped[f"task {v['task']} not in the task registry"] += 1
            continue
        query, answer = _imhi_pair(task_registry, v["task"], v["visit_text"], label, rationale)
        rows.append({"query": query, "answer": answer})
    return rows


def _imhi_pair(task_registry, task: str, text: str, label: str, rationale: str) -> tuple[str, str]:
    """The IMHI query and gold answer, built by the task registry so trainer and exporter never drift."""
    spec = task_registry.TASKS[task]
    return spec.build_query(text), spec.answer(label, rationale)


def export(ctx: Context, fmt: str, *, jsonl: bool = False, include_approved: bool = False,
           decisions: tuple[str, ...] = ("flag",)) -> ExportResult:
    """Export review results.

    ``csv`` / ``jsonl`` (``review.export``, QA reviewers): the decisions (flags by
    default) with their reason, severity, comment and corrections; no visit text, and
    comments and corrected rationales de-identified. ``heads`` / ``lora``
    (``review.export_training``, clinical leads): training sets built from resolved
    items' final corrections with the real visit text, in exactly the format the
    trainers read (``jsonl=True`` for JSON lines instead of CSV).
    """
    if fmt not in EXPORT_FORMATS:
        raise ValidationError(f"Unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}.")
    ctx.require(EXPORT_PERMISSION[fmt])
    bad = set(decisions) - set(DECISIONS)
    if bad:
        raise ValidationError(f"Unknown decision {', '.join(sorted(bad))}.")
    stamp = _now().strftime("%Y%m%d-%H%M")
    skipped: dict[str, int] = defaultdict(int)
    if fmt in FLAG_FORMATS:
        rows = _flag_records(ctx, tuple(decisions))
        if fmt == "csv":
            data, mime = _flags_csv(rows), "text/csv"
        else:
            data, mime = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "application/jsonl"
        result = ExportResult(data.encode("utf-8"), f"review-flags-{stamp}.{fmt}", mime, len(rows))
    else:
        verdicts = _final_verdicts(ctx)
        if fmt == "heads":
            rows = _heads_rows(verdicts, include_approved, skipped)
            columns = ["text", *[s.target_column for s in HEADS]]
        else:
            try:
                rows = _lora_rows(verdicts, include_approved, skipped)
            except ImportError as exc:
                raise ModelUnavailable("The task registry (core.llm.tasks) is not installed; cannot build "
                                       "IMHI queries.") from exc
            columns = ["query", "answer"]
        ext = "jsonl" if jsonl else "csv"
        if jsonl:
            data, mime = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "application/jsonl"
        else:
            buf = io.StringIO()
            w = csv.writer(buf)
            # IMHI files name the answer column after the model that wrote the gold answers.
            w.writerow(["query", "gpt-3.5-turbo"] if fmt == "lora" else columns)
            for r in rows:
                w.writerow([r[c] for c in columns])
            data, mime = buf.getvalue(), "text/csv"
        result = ExportResult(data.encode("utf-8"), f"corrections-{fmt}-{stamp}.{ext}", mime, len(rows),
                              dict(skipped))
    ctx.audit("review.export", "review", fmt, format=fmt, jsonl=jsonl, rows=result.rows,
              include_approved=include_approved, decisions=list(decisions), skipped=result.skipped,
              contains_visit_text=fmt in TRAINING_FORMATS)
    return result


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
