"""AppTest of the review queue and quality pages, per role."""

from __future__ import annotations

import pytest

from core import review
from core.storage import records
from core.storage.audit import list_events
from core.storage.db import query_rows

NOTE = "Maria Lopez reports she wants to kill herself and has stopped seeing friends."


def texts(at) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.title] + [e.value for e in at.caption]
    parts += [e.value for e in at.error] + [e.value for e in at.info] + [e.value for e in at.warning]
    parts += [e.value for e in at.success] + [e.value for e in at.text] + [e.value for e in at.subheader]
    return "\n".join(str(p) for p in parts)


@pytest.fixture
def seeded(app_env):
    store, psy = app_env.store, app_env.users["psy"]
    pid = records.insert_patient(store, "P-1", "Maria", psy.id, True)
    [vid] = records.insert_visits(store, pid, [{"visit_date": "2026-01-05", "text": NOTE}], psy.id)
    llm_id = records.insert_analysis(
        store, visit_id=vid, kind="llm", task="depression", model_id="m", model_version="llm-1",
        outputs={"label": "no", "probabilities": {"yes": 0.4, "no": 0.6}, "rationale": "Maria Lopez shows no mood symptoms.",
                 "prompt_version": "p1", "model_id": "m", "model_version": "llm-1", "notes": [], "evidence": []})
    heads_id = records.insert_analysis(
        store, visit_id=vid, kind="heads", task="heads", model_id="enc", model_version="h-1",
        outputs={"heads": {n: {"value": v, "std": 0.1, "low": v - 0.1, "high": v + 0.1}
                           for n, v in [("sentiment", -0.2), ("family_history", 0.1), ("trauma", 1.0),
                                        ("isolation", 1.0), ("support", 3.0)]}, "windows": 1, "tokens": 20})
    return {"llm": llm_id, "heads": heads_id}


@pytest.mark.parametrize("who", ["psy", "lead", "admin"])
def test_queue_refused_to_other_roles(app_env, seeded, who):
    at = app_env.page("pages/review.py", who).run()
    assert not at.exception
    assert "does not allow" in texts(at)
    assert not any(b.key == "review_next" for b in at.button)
    assert "Maria" not in texts(at)


def test_queue_lists_items_by_priority_with_deidentified_text(app_env, seeded):
    at = app_env.page("pages/review.py", "qa").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value  # the queue table comes first
    assert list(table["id"]) == [seeded["llm"], seeded["heads"]]  # crisis note, lower confidence first
    at.button(key="review_open").click().run()
    assert not at.exception
    shown = texts(at)
    assert "Visit note (de-identified)" in shown
    assert "Maria Lopez" not in shown


def test_claim_flag_with_correction_resolves_and_is_audited(app_env, seeded):
    at = app_env.page("pages/review.py", "qa").run()
    at.button(key="review_next").click().run()
    assert not at.exception, at.exception
    assert at.session_state["review_item"] == seeded["llm"]
    at.radio(key="review_form_decision").set_value("flag")
    at.selectbox(key="review_form_reason").set_value("missed_risk")
    at.selectbox(key="review_form_severity").set_value("critical")
    at.text_area(key="review_form_comment").input("Explicit suicidal ideation was missed.")
    at.selectbox(key="review_form_label").set_value("yes")
    at.text_area(key="review_form_rationale").input("Wants to kill herself; withdrawn from friends.")
    at.button(key="FormSubmitter:review_form-Submit").click().run()
    assert not at.exception, at.exception
    assert "Decision saved." in texts(at)
    [flag] = query_rows(app_env.store, "SELECT * FROM flags")
    assert flag["decision"] == "flag" and flag["reason"] == "missed_risk" and flag["corrected_label"] == "yes"
    assert flag["severity"] == "critical" and flag["comment"].startswith("Explicit")
    assert list_events(app_env.store, action="review.decide")[0]["username"] == "qa"


def test_heads_correction_and_locked_item_for_second_reviewer(app_env, seeded):
    from core.security import auth

    qa2 = auth.create_user(app_env.store, "qa2", "correct horse battery", "qa_reviewer",
                           actor=app_env.users["admin"], must_change=False)
    app_env.users["qa2"] = qa2
    review.claim(app_env.ctx("qa2"), seeded["heads"])
    at = app_env.page("pages/review.py", "qa", review_item=seeded["heads"]).run()
    assert not at.exception
    assert "qa2 is reviewing this item." in texts(at)
    review.release(app_env.ctx("qa2"), seeded["heads"])
    at.run()
    at.button(key="review_claim").click().run()
    assert not at.exception, at.exception
    at.radio(key="review_form_decision").set_value("flag")
    at.selectbox(key="review_form_reason").set_value("wrong_label")
    at.number_input(key="review_form_score_isolation").set_value(3.5)
    at.button(key="FormSubmitter:review_form-Submit").click().run()
    assert not at.exception, at.exception
    [flag] = query_rows(app_env.store, "SELECT * FROM flags")
    assert flag["corrected_scores"] == '{"isolation": 3.5}'


def test_invalid_flag_shows_error(app_env, seeded):
    at = app_env.page("pages/review.py", "qa").run()
    at.button(key="review_next").click().run()
    at.radio(key="review_form_decision").set_value("flag")
    at.selectbox(key="review_form_reason").set_value("other")
    at.button(key="FormSubmitter:review_form-Submit").click().run()
    assert not at.exception
    assert "Say what is wrong" in texts(at)
    assert not query_rows(app_env.store, "SELECT * FROM flags")


def test_export_tab_prepares_deidentified_flags_csv_and_no_training_sets(app_env, seeded):
    review.decide(app_env.ctx("qa"), seeded["llm"], "flag", reason="unsafe_wording", severity="high",
                  comment="=HYPERLINK(\"http://x\") repeats Maria Lopez", corrected_label="yes",
                  corrected_rationale="Maria Lopez wants to kill herself.")
    at = app_env.page("pages/review.py", "qa").run()
    assert at.radio(key="export_format").options == [review.EXPORT_FORMATS[f] for f in review.FLAG_FORMATS]
    at.radio(key="export_format").set_value("csv")
    at.button(key="export_prepare").click().run()
    assert not at.exception, at.exception
    result = at.session_state["review_export"]
    assert result.rows == 1 and b"'=HYPERLINK" in result.data
    assert b"Maria" not in result.data and b"Lopez" not in result.data and b"[NAME]" in result.data
    assert NOTE.encode() not in result.data
    assert [e["username"] for e in list_events(app_env.store, action="review.export")] == ["qa"]
    assert not any(b.key == "quality_train_prepare" for b in app_env.page("pages/quality.py", "qa").run().button)


def test_lead_downloads_training_sets_with_the_real_note_on_the_quality_page(app_env, seeded):
    import json

    review.decide(app_env.ctx("qa"), seeded["llm"], "flag", reason="missed_risk", severity="critical",
                  corrected_label="yes", corrected_rationale="Wants to kill herself; withdrawn from friends.")
    at = app_env.page("pages/quality.py", "lead").run()
    assert not at.exception, at.exception
    assert "real, identifiable visit text" in texts(at)
    at.radio(key="quality_train_format").set_value("lora")
    at.checkbox(key="quality_train_jsonl").check()
    at.button(key="quality_train_prepare").click().run()
    assert not at.exception, at.exception
    result = at.session_state["quality_train_export"]
    [row] = [json.loads(line) for line in result.data.decode().splitlines()]
    assert NOTE in row["query"] and row["answer"].endswith("Wants to kill herself; withdrawn from friends.")
    assert result.filename.startswith("corrections-lora-") and result.filename.endswith(".jsonl")
    assert any(b.key == "quality_train_download" for b in at.get("download_button"))
    [event] = list_events(app_env.store, action="review.export")
    assert event["username"] == "lead" and json.loads(event["details"])["contains_visit_text"] is True


def test_quality_page_for_lead_and_qa_not_psychiatrist(app_env, seeded):
    review.decide(app_env.ctx("qa"), seeded["llm"], "flag", reason="missed_risk", severity="high")
    review.decide(app_env.ctx("qa"), seeded["heads"], "approve")
    for who in ("lead", "qa"):
        at = app_env.page("pages/quality.py", who).run()
        assert not at.exception, at.exception
        assert "Flag rate" in texts(at)
        assert "Maria" not in texts(at)
    at = app_env.page("pages/quality.py", "psy").run()
    assert not at.exception
    assert "does not allow" in texts(at)


def test_adjudicate_tab_settles_a_disagreement(app_env, seeded):
    from core.security import auth

    app_env.users["qa2"] = auth.create_user(app_env.store, "qa2", "correct horse battery", "qa_reviewer",
                                            actor=app_env.users["admin"], must_change=False)
    review.set_overlap(app_env.ctx("qa"), 2)
    review.decide(app_env.ctx("qa"), seeded["llm"], "approve")
    review.decide(app_env.ctx("qa2"), seeded["llm"], "flag", reason="missed_risk", severity="high",
                  corrected_label="yes")
    at = app_env.page("pages/review.py", "qa").run()
    assert not at.exception, at.exception
    key = f"adj_{seeded['llm']}"
    at.radio(key=f"{key}_decision").set_value("flag")
    at.selectbox(key=f"{key}_reason").set_value("missed_risk")
    at.selectbox(key=f"{key}_label").set_value("yes")
    at.text_area(key=f"{key}_rationale").input("Explicit suicidal ideation.")
    at.button(key=f"FormSubmitter:{key}-Submit").click().run()
    assert not at.exception, at.exception
    assert review.disagreements(app_env.ctx("qa")) == []
    assert "No disagreements to adjudicate." in texts(at)
    assert "Maria Lopez" not in texts(at)


def test_send_back_from_the_page(app_env, seeded):
    review.decide(app_env.ctx("qa"), seeded["heads"], "approve")
    at = app_env.page("pages/review.py", "qa", review_item=seeded["heads"]).run()
    at.text_area(key="review_sendback_comment").input("Support score looks too high.")
    at.button(key="review_sendback").click().run()
    assert not at.exception, at.exception
    state = review.item_view(app_env.ctx("qa"), seeded["heads"])
    assert state["round"] == 2 and state["status"] == "open"
