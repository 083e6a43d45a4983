"""Everything a QA reviewer is shown is de-identified, however deeply it is nested.

Evidence records quote the note: sentences nested inside claims, spans inside sentences, notes inside lists,
extra fields a model version adds. Names, phone numbers, record numbers and e-mails must not survive anywhere in
``review.item_view``, nor in the decision comments of other reviewers it shows.
"""

from __future__ import annotations

import json

import pytest

from core import review
from core.context import Context
from core.storage import records

PHI = ["Maria Lopez", "555-867-5309", "MRN 48213377", "maria.lopez@example.com"]
NOTE = ("Maria Lopez (MRN 48213377) called from 555-867-5309 and wrote from maria.lopez@example.com; "
        "low mood for weeks.")


def _nested_outputs() -> dict:
    quote = "Maria Lopez called from 555-867-5309"
    return {
        "label": "yes", "probabilities": {"yes": 0.8, "no": 0.2}, "prompt_version": "p1", "model_id": "m",
        "model_version": "llm-1", "task": "depression",
        "rationale": "Maria Lopez reports low mood; reach her at 555-867-5309.",
        "notes": ["Record MRN 48213377 was truncated", {"detail": {"contact": "maria.lopez@example.com"}}],
        "evidence": [
            {"claim": "Low mood", "supported": True,
             "sentences": [{"text": quote, "score": 0.9, "spans": [{"text": "Maria Lopez", "start": 0}]}],
             "best": {"sentence": "MRN 48213377 on file for Maria Lopez", "similarity": 0.7}},
            ["nested list with maria.lopez@example.com", ("a tuple", "555-867-5309")],
        ],
        "extra": {"deeper": {"still": {"deeper": [{"quote": "Maria Lopez, MRN 48213377"}]}}},
    }


@pytest.fixture
def item(store, users, settings):
    pid = records.insert_patient(store, "P-DEID", "Maria", users["psy"].id, True)
    [vid] = records.insert_visits(store, pid, [{"visit_date": "2026-01-05", "text": NOTE}], users["psy"].id)
    aid = records.insert_analysis(store, visit_id=vid, kind="llm", task="depression", outputs=_nested_outputs(),
                                  model_id="m", model_version="llm-1")
    return aid, {n: Context(settings=settings, store=store, user=u) for n, u in users.items()}


def _all_text(value) -> str:
    return json.dumps(value, default=str)


def test_nested_phi_never_reaches_the_reviewer(item):
    aid, ctxs = item
    review.set_overlap(ctxs["qa"], 2)
    review.decide(ctxs["qa2"], aid, "flag", reason="other", severity="low",
                  comment="Maria Lopez at 555-867-5309 should be called", corrected_label="no",
                  corrected_rationale="MRN 48213377 shows no depression")
    review.decide(ctxs["qa"], aid, "approve")
    view = review.item_view(ctxs["qa"], aid)  # resolved: the other reviewer's decision is shown too
    shown = _all_text(view)
    leaked = [p for p in PHI if p in shown or p.split()[-1] in shown]
    assert leaked == [], leaked
    assert view["outputs"]["label"] == "yes" and view["outputs"]["model_version"] == "llm-1"
    assert view["outputs"]["probabilities"] == {"yes": 0.8, "no": 0.2}
    assert "low mood" in shown


def test_heads_outputs_are_walked_too(store, users, settings):
    pid = records.insert_patient(store, "P-DEID2", "", users["psy"].id, True)
    [vid] = records.insert_visits(store, pid, [{"visit_date": "2026-01-05", "text": NOTE}], users["psy"].id)
    outputs = {"heads": {"sentiment": {"value": -0.5, "std": 0.1, "low": -1, "high": 1}}, "windows": 1,
               "tokens": 20, "explain": {"top_window": "Maria Lopez called from 555-867-5309"}}
    aid = records.insert_analysis(store, visit_id=vid, kind="heads", task="heads", outputs=outputs, model_id="m",
                                  model_version="v1")
    view = review.item_view(Context(settings=settings, store=store, user=users["qa"]), aid)
    shown = _all_text(view)
    assert not any(p in shown for p in PHI)
    assert view["outputs"]["heads"]["sentiment"]["value"] == -0.5
