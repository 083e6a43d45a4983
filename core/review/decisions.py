"""Reviewer decisions on a review item: approve, flag with corrections, skip, send back, assign, adjudicate; overlap and agreement."""

from __future__ import annotations

from collections import defaultdict

from core.context import Context
from core.errors import ItemLocked, ValidationError
from core.models.heads import HEAD_NAMES, get_head
from core.review.agreement import agreement
from core.review.items import (
    DECISIONS,
    MAX_OVERLAP,
    REASONS,
    SEVERITIES,
    _item_state,
    _now,
    _snapshot,
    _sync,
    _ts,
    claim,
    get_overlap,
    task_labels,
)
from core.storage import accounts as account_rows
from core.storage import records
from core.storage import review as store_review


# ---------------------------------------------------------------- decisions
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
        row = account_rows.get_user_by_name(ctx.store, username)
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


