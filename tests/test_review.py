"""The review queue in core: priority, filters, locking, decisions, overlap, adjudication, audit."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from core import review
from core.context import Context
from core.errors import ItemLocked, PermissionDenied, ValidationError
from core.review import items as review_items
from core.storage import records
from core.storage.audit import list_events

CRISIS_NOTE = "Maria Lopez says she wants to kill herself and has been stockpiling pills."
CALM_NOTE = "John Smith slept better this week and met friends twice."


def llm(label, probs, rationale="Mentions low mood most days.", version="llm-1"):
    return {"label": label, "probabilities": probs, "rationale": rationale, "prompt_version": "p1",
            "model_id": "m", "model_version": version, "notes": [], "evidence": []}


def heads(std):
    return {"heads": {n: {"value": v, "std": std, "low": v - std, "high": v + std}
                      for n, v in [("sentiment", -0.4), ("family_history", 0.2), ("trauma", 2.0),
                                   ("isolation", 1.5), ("support", 2.5)]},
            "windows": 1, "tokens": 40}


def add(store, visit_id, kind, task, outputs, version="v1"):
    return records.insert_analysis(store, visit_id=visit_id, kind=kind, task=task, outputs=outputs, model_id="m",
                                   model_version=version)


@pytest.fixture
def ctxs(settings, store, users):
    return {name: Context(settings=settings, store=store, user=u) for name, u in users.items()}


@pytest.fixture
def items(store, users):
    pid = records.insert_patient(store, "P-1", "Maria", users["psy"].id, True)
    calm, crisis = records.insert_visits(store, pid, [{"visit_date": "2026-01-05", "text": CALM_NOTE},
                                                      {"visit_date": "2026-01-12", "text": CRISIS_NOTE}],
                                         users["psy"].id)
    return {
        "sure": add(store, calm, "llm", "depression", llm("yes", {"yes": 0.95, "no": 0.05})),
        "unsure": add(store, calm, "llm", "depression", llm("no", {"yes": 0.45, "no": 0.55})),
        "broken": add(store, calm, "llm", "stress", llm(None, {}), version="v2"),
        "heads_tight": add(store, calm, "heads", "heads", heads(0.05)),
        "heads_wide": add(store, calm, "heads", "heads", heads(0.6)),
        "crisis": add(store, crisis, "llm", "depression", llm("yes", {"yes": 0.9, "no": 0.1})),
    }


def ids(page):
    return [r["analysis_id"] for r in page.rows]


def test_queue_orders_crisis_then_parse_failures_then_low_confidence(ctxs, items):
    order = ids(review.queue(ctxs["qa"]))
    assert order[0] == items["crisis"]
    assert order[1] == items["broken"]
    assert order.index(items["unsure"]) < order.index(items["sure"])
    assert order.index(items["heads_wide"]) < order.index(items["heads_tight"])
    assert order[-1] in (items["sure"], items["heads_tight"])


def test_confidence_is_max_probability_or_head_spread(store, items):
    assert review.confidence_of(records.get_analysis(store, items["unsure"])) == pytest.approx(0.55)
    assert review.confidence_of(records.get_analysis(store, items["broken"])) == 0.0
    # Widest relative spread is sentiment (range 2) and family history (range 1): 2*0.05/1 = 0.1.
    assert review.confidence_of(records.get_analysis(store, items["heads_tight"])) == pytest.approx(0.9)


def test_queue_filters(ctxs, items):
    qa = ctxs["qa"]
    F = review.QueueFilters
    assert set(ids(review.queue(qa, F(tasks=("heads",))))) == {items["heads_tight"], items["heads_wide"]}
    assert ids(review.queue(qa, F(model_versions=("v2",)))) == [items["broken"]]
    assert review.queue(qa, F(date_from="2000-01-01", date_to="2000-01-02")).total == 0
    assert review.queue(qa, F(flagged=True)).total == 0
    review.decide(qa, items["sure"], "flag", reason="wrong_label", severity="high", corrected_label="no")
    assert ids(review.queue(qa, F(flagged=True))) == [items["sure"]]
    assert items["sure"] not in ids(review.queue(qa, F(flagged=False)))
    assert ids(review.queue(qa, F(statuses=("resolved",)))) == [items["sure"]]
    review.claim(qa, items["unsure"])
    review.assign(ctxs["qa2"], items["heads_wide"], "qa")
    assert set(ids(review.queue(qa, F(mine=True)))) == {items["unsure"], items["heads_wide"]}
    assert ids(review.queue(ctxs["qa2"], F(mine=True))) == []
    with pytest.raises(ValidationError):
        review.queue(qa, F(statuses=("bogus",)))
    with pytest.raises(ValidationError):
        review.queue(qa, F(date_from="2026-02-01", date_to="2026-01-01"))


def test_queue_rows_carry_no_text(ctxs, items):
    row = review.queue(ctxs["qa"]).rows[0]
    assert "outputs" not in row and "text" not in row
    assert row["summary"] == "yes" and row["crisis"] == 1


@pytest.mark.parametrize("who", ["psy", "lead", "admin"])
def test_only_reviewers_use_the_queue(ctxs, items, who):
    with pytest.raises(PermissionDenied):
        review.queue(ctxs[who])
    with pytest.raises(PermissionDenied):
        review.claim(ctxs[who], items["sure"])
    with pytest.raises(PermissionDenied):
        review.decide(ctxs[who], items["sure"], "approve")


def test_two_reviewers_racing_to_claim_one_wins(settings, users, items):
    from core.storage import open_store

    # Two connections on two threads, released at the same instant by a barrier.
    barrier = threading.Barrier(2)
    outcome: dict[str, object] = {}

    def work(name):
        s = open_store(settings.database)
        ctx = Context(settings=settings, store=s, user=users[name])
        barrier.wait()
        try:
            review.claim(ctx, items["crisis"])
            outcome[name] = "won"
        except ItemLocked as exc:
            outcome[name] = exc
        finally:
            s.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in ("qa", "qa2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(str(v) == "won" for v in outcome.values()) == [False, True]
    winner = next(n for n, v in outcome.items() if v == "won")
    loser = "qa2" if winner == "qa" else "qa"
    assert winner in str(outcome[loser])  # the message names who holds the lock


def test_claim_next_never_hands_out_the_same_item_twice(settings, users, items):
    from core.storage import open_store

    got: dict[str, list] = {"qa": [], "qa2": []}
    barrier = threading.Barrier(2)

    def work(name):
        s = open_store(settings.database)
        ctx = Context(settings=settings, store=s, user=users[name])
        barrier.wait()
        for _ in range(3):
            aid = review.claim_next(ctx)
            if aid is not None:
                got[name].append(aid)
        s.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    # Each thread holds its claims (claim_next re-claims its own item first); none held by both.
    assert not set(got["qa"]) & set(got["qa2"])


def test_locked_item_refused_then_freed_by_release_or_expiry(ctxs, items, monkeypatch):
    qa, qa2 = ctxs["qa"], ctxs["qa2"]
    review.claim(qa, items["sure"])
    with pytest.raises(ItemLocked, match="qa is reviewing"):
        review.claim(qa2, items["sure"])
    with pytest.raises(ItemLocked):
        review.decide(qa2, items["sure"], "approve")
    review.release(qa, items["sure"])
    review.claim(qa2, items["sure"])
    # An abandoned lock frees itself after LOCK_MINUTES.
    real_now = review_items._now()
    monkeypatch.setattr(review_items, "_now", lambda: real_now + timedelta(minutes=review.LOCK_MINUTES + 1))
    assert review.item_view(qa, items["sure"])["status"] == "open"
    review.claim(qa, items["sure"])
    assert review.item_view(qa, items["sure"])["locked_by_me"]


def test_flag_needs_reason_and_severity_and_valid_corrections(ctxs, items):
    qa = ctxs["qa"]
    with pytest.raises(ValidationError, match="reason"):
        review.decide(qa, items["sure"], "flag", severity="high")
    with pytest.raises(ValidationError, match="severity"):
        review.decide(qa, items["sure"], "flag", reason="wrong_label")
    with pytest.raises(ValidationError, match="comment"):
        review.decide(qa, items["sure"], "flag", reason="other", severity="low")
    with pytest.raises(ValidationError, match="not a label"):
        review.decide(qa, items["sure"], "flag", reason="wrong_label", severity="low", corrected_label="maybe")
    with pytest.raises(ValidationError, match="between"):
        review.decide(qa, items["heads_wide"], "flag", reason="wrong_label", severity="low",
                      corrected_scores={"trauma": 9})
    with pytest.raises(ValidationError, match="head scores"):
        review.decide(qa, items["sure"], "flag", reason="wrong_label", severity="low", corrected_scores={"trauma": 1})
    with pytest.raises(ValidationError, match="belong to a flag"):
        review.decide(qa, items["sure"], "approve", reason="wrong_label")
    with pytest.raises(ValidationError, match="decision"):
        review.decide(qa, items["sure"], "maybe")


def test_decide_resolves_and_records_audit_before_after(ctxs, items, store):
    qa = ctxs["qa"]
    review.claim(qa, items["heads_wide"])
    state = review.decide(qa, items["heads_wide"], "flag", reason="missed_risk", severity="critical",
                          comment="Isolation is severe in the note.", corrected_scores={"isolation": 3.5})
    assert state["effective_status"] == "resolved" and state["live_lock"] is None
    [event] = list_events(store, action="review.decide")
    import json

    details = json.loads(event["details"])
    assert event["username"] == "qa" and event["entity_id"] == str(items["heads_wide"])
    assert details["before"]["status"] == "in_review" and details["after"]["status"] == "resolved"
    assert details["corrected_scores"] == {"isolation": 3.5} and details["comment"].startswith("Isolation")
    assert list_events(store, action="review.claim")
    with pytest.raises(ValidationError, match="resolved"):
        review.decide(ctxs["qa2"], items["heads_wide"], "approve")


def test_skip_keeps_the_item_open_with_a_note(ctxs, items):
    state = review.decide(ctxs["qa"], items["sure"], "skip", comment="Not my area.")
    assert state["effective_status"] == "open"
    view = review.item_view(ctxs["qa"], items["sure"])
    assert [d["decision"] for d in view["decisions"]] == ["skip"]


def test_overlap_needs_independent_reviewers_and_hides_others_until_resolved(ctxs, items):
    qa, qa2 = ctxs["qa"], ctxs["qa2"]
    assert review.set_overlap(qa, 2) == len(items)
    assert review.decide(qa, items["sure"], "approve", comment="fine")["effective_status"] == "open"
    with pytest.raises(ValidationError, match="already reviewed"):
        review.claim(qa, items["sure"])
    assert review.item_view(qa2, items["sure"])["decisions"] == []  # independent: qa's verdict is hidden
    assert review.claim_next(qa2) is not None
    assert review.decide(qa2, items["sure"], "approve")["effective_status"] == "resolved"
    assert len(review.item_view(qa2, items["sure"])["decisions"]) == 2
    with pytest.raises(ValidationError):
        review.set_overlap(qa, 0)


def test_send_back_starts_a_new_round(ctxs, items, store):
    qa = ctxs["qa"]
    review.decide(qa, items["sure"], "approve")
    with pytest.raises(ValidationError, match="why"):
        review.send_back(qa, items["sure"], "")
    state = review.send_back(ctxs["qa2"], items["sure"], "Rationale invents a diagnosis.")
    assert state["effective_status"] == "open" and state["round"] == 2
    review.claim(qa, items["sure"])  # qa may review again in the new round
    view = review.item_view(qa, items["sure"])
    assert [d["round"] for d in view["decisions"]] == [1]
    assert list_events(store, action="review.send_back")


def test_disagreement_listed_then_adjudicated(ctxs, items, store):
    qa, qa2 = ctxs["qa"], ctxs["qa2"]
    review.set_overlap(qa, 2)
    review.decide(qa, items["unsure"], "approve")
    review.decide(qa2, items["unsure"], "flag", reason="wrong_label", severity="medium", corrected_label="yes")
    review.decide(qa, items["sure"], "approve")
    review.decide(qa2, items["sure"], "approve")
    [d] = review.disagreements(qa)
    assert d["analysis_id"] == items["unsure"]
    assert sorted(x["decision"] for x in d["decisions"]) == ["approve", "flag"]
    review.adjudicate(qa, items["unsure"], "flag", reason="wrong_label", severity="medium", corrected_label="yes",
                      corrected_rationale="Reports hopelessness and anhedonia.", comment="qa2 is right")
    assert review.disagreements(qa) == []
    assert review.item_view(qa, items["unsure"])["adjudication"]["corrected_label"] == "yes"
    with pytest.raises(ValidationError, match="already adjudicated"):
        review.adjudicate(qa, items["unsure"], "approve")
    assert list_events(store, action="review.adjudicate")


def test_agreement_report_per_task_and_reason(ctxs, items):
    qa, qa2 = ctxs["qa"], ctxs["qa2"]
    review.set_overlap(qa, 2)
    for key, (d1, d2) in {"sure": ("approve", "approve"), "unsure": ("flag", "flag"),
                          "crisis": ("approve", "flag")}.items():
        for ctx, d in ((qa, d1), (qa2, d2)):
            extra = {"reason": "wrong_label", "severity": "low"} if d == "flag" else {}
            review.decide(ctx, items[key], d, **extra)
    rows = {(r["scope"], r["name"]): r for r in review.agreement_report(qa)}
    task = rows[("task", "depression")]
    # Hand-computed: p_o = 2/3; marginals qa (2 approve, 1 flag), qa2 (1, 2) -> p_e = 4/9; kappa = (2/3-4/9)/(5/9) = 0.4
    assert task["method"] == "cohen_kappa" and task["items"] == 3
    assert task["value"] == pytest.approx(0.4)
    assert rows[("reason", "Wrong label")]["value"] == pytest.approx(0.4)
    with pytest.raises(PermissionDenied):
        review.agreement_report(ctxs["psy"])


def test_reviewer_view_shows_deidentified_text_only(ctxs, items):
    view = review.item_view(ctxs["qa"], items["crisis"])
    try:
        from core.safety.deid import deidentify
    except ImportError:
        assert view["text"] == review.WITHHELD
    else:
        assert view["text"] == deidentify(CRISIS_NOTE)
        assert "Maria Lopez" not in view["text"]
    assert view["crisis"] is True


def test_quality_stats(ctxs, items, store, users):
    qa, qa2 = ctxs["qa"], ctxs["qa2"]
    records.sign_analysis(store, items["sure"], users["psy"].id)
    review.decide(qa, items["sure"], "flag", reason="unsafe_wording", severity="high")
    review.decide(qa, items["unsure"], "approve")
    review.decide(qa2, items["broken"], "flag", reason="unreadable", severity="low")
    review.decide(qa2, items["crisis"], "skip")
    stats = review.quality_stats(ctxs["lead"])
    assert stats.flag_rate["reviewed"].sum() == 3 and stats.flag_rate["flagged"].sum() == 2
    assert set(stats.reasons["reason"]) == {"Unsafe or harmful wording", "Output unreadable / parse failure"}
    assert stats.signed_flagged == [items["sure"]]
    progress = stats.reviewers.set_index("reviewer")
    assert progress.loc["qa", "approve"] == 1 and progress.loc["qa", "flag"] == 1
    assert progress.loc["qa2", "skip"] == 1
    assert stats.status_counts["resolved"] == 3
    with pytest.raises(PermissionDenied):
        review.quality_stats(ctxs["psy"])
