"""Review exports: flags CSV/JSONL (formula-safe, de-identified) for QA reviewers, and correction sets with the real
notes, which the trainers read unchanged, for clinical leads only."""

from __future__ import annotations

import csv
import io
import json

import pytest

from core import review
from core.context import Context
from core.errors import PermissionDenied, ValidationError
from core.models.heads import HEADS
from core.storage import records
from core.storage.audit import list_events

NOTE_A = 'Patient says "I can\'t cope", sleeps 4h, avoids friends, works nights.'
NOTE_B = "Calmer this week; went back to the choir, sister visits on Sundays."


@pytest.fixture
def ctxs(settings, store, users):
    return {name: Context(settings=settings, store=store, user=u) for name, u in users.items()}


@pytest.fixture
def reviewed(ctxs, store, users):
    """Two LLM answers and two heads outputs, reviewed: corrections, an approval, a formula-injection comment."""
    pid = records.insert_patient(store, "P-1", "", users["psy"].id, True)
    va, vb = records.insert_visits(store, pid, [{"visit_date": "2026-01-05", "text": NOTE_A},
                                                {"visit_date": "2026-01-12", "text": NOTE_B}], users["psy"].id)

    def llm(vid, label, p):
        return records.insert_analysis(store, visit_id=vid, kind="llm", task="depression", model_id="m",
                                       model_version="llm-1", outputs={
                                           "label": label, "probabilities": {label: p, "yes" if label == "no" else "no": 1 - p},
                                           "rationale": "Model rationale.", "prompt_version": "imhi-1"})

    def heads(vid):
        return records.insert_analysis(store, visit_id=vid, kind="heads", task="heads", model_id="enc",
                                       model_version="h-1", outputs={"heads": {
                                           h.name: {"value": (h.low + h.high) / 2, "std": 0.1} for h in HEADS}})

    ids = {"llm_a": llm(va, "no", 0.7), "llm_b": llm(vb, "no", 0.9), "heads_a": heads(va), "heads_b": heads(vb)}
    qa = ctxs["qa"]
    review.decide(qa, ids["llm_a"], "flag", reason="wrong_label", severity="high", corrected_label="yes",
                  corrected_rationale="Insomnia, withdrawal and 'can't cope' suggest depression.",
                  comment="=cmd|' /C calc'!A0")
    review.decide(qa, ids["llm_b"], "approve", comment="+ fine")
    review.decide(qa, ids["heads_a"], "flag", reason="wrong_label", severity="medium",
                  corrected_scores={"isolation": 3.5, "family_history": 1.0}, comment="@SUM(1)")
    review.decide(qa, ids["heads_b"], "approve")
    return ids


def test_flags_csv_is_formula_safe_and_complete(ctxs, reviewed, store):
    result = review.export(ctxs["qa"], "csv")
    rows = list(csv.DictReader(io.StringIO(result.data.decode())))
    assert result.rows == 2 == len(rows)
    by_id = {int(r["analysis_id"]): r for r in rows}
    a = by_id[reviewed["llm_a"]]
    assert a["comment"] == "'=cmd|' /C calc'!A0"  # neutralised for spreadsheets
    assert a["reason"] == "wrong_label" and a["reason_label"] == "Wrong label" and a["severity"] == "high"
    assert a["model_label"] == "no" and a["corrected_label"] == "yes" and a["reviewer"] == "qa"
    h = by_id[reviewed["heads_a"]]
    assert h["comment"] == "'@SUM(1)"
    assert json.loads(h["corrected_scores"]) == {"isolation": 3.5, "family_history": 1.0}
    for r in rows:
        assert all(not str(v).startswith(("=", "+", "-", "@")) for v in r.values())
    assert NOTE_A not in result.data.decode()  # flags exports carry no note text
    [event] = list_events(store, action="review.export")
    assert json.loads(event["details"])["rows"] == 2


def test_flags_jsonl_keeps_values_exact(ctxs, reviewed):
    result = review.export(ctxs["qa"], "jsonl", decisions=review.DECISIONS)
    rows = [json.loads(line) for line in result.data.decode().splitlines()]
    assert len(rows) == 4
    a = next(r for r in rows if r["analysis_id"] == reviewed["llm_a"])
    assert a["comment"] == "=cmd|' /C calc'!A0" and a["model_confidence"] == pytest.approx(0.7)


def test_flags_exports_are_for_qa_and_training_sets_for_the_lead(ctxs, reviewed):
    for fmt in review.FLAG_FORMATS:
        for who in ("psy", "lead", "admin"):
            with pytest.raises(PermissionDenied):
                review.export(ctxs[who], fmt)
    for fmt in review.TRAINING_FORMATS:
        for who in ("qa", "qa2", "psy", "admin"):  # reviewers see de-identified text only: never the real notes
            with pytest.raises(PermissionDenied):
                review.export(ctxs[who], fmt)
    assert review.export_formats(ctxs["qa"]) == ["csv", "jsonl"]
    assert review.export_formats(ctxs["lead"]) == ["heads", "lora"]
    assert review.export_formats(ctxs["psy"]) == review.export_formats(ctxs["admin"]) == []


def test_flags_exports_carry_only_deidentified_text(ctxs, reviewed, store):
    qa = ctxs["qa"]
    review.send_back(qa, reviewed["llm_b"], "look again")
    review.decide(ctxs["qa2"], reviewed["llm_b"], "flag", reason="other", severity="low",
                  comment="Note quotes Mr. John Smith, call 555-123-4567 or john.smith@example.com",
                  corrected_label="yes", corrected_rationale="Mr. John Smith (born 1984-03-02) says he cannot cope.")
    for fmt in review.FLAG_FORMATS:
        data = review.export(qa, fmt, decisions=review.DECISIONS).data.decode()
        for secret in ("John Smith", "555-123-4567", "john.smith@example.com", "1984-03-02", NOTE_A, NOTE_B):
            assert secret not in data, (fmt, secret)
        assert "[NAME]" in data and "[PHONE]" in data and "[EMAIL]" in data
    rows = [json.loads(x) for x in review.export(qa, "jsonl").data.decode().splitlines()]
    flag = next(r for r in rows if r["analysis_id"] == reviewed["llm_b"])
    assert flag["corrected_rationale"] == "Mr. [NAME] (born [DATE]) says he cannot cope."
    # The training set is the one place the reviewer's real words go, and only to the lead.
    lora_rows = review.export(ctxs["lead"], "lora", jsonl=True).data.decode()
    assert "Mr. John Smith (born 1984-03-02) says he cannot cope." in lora_rows


def _heads_rows(result):
    return list(csv.DictReader(io.StringIO(result.data.decode())))


def test_heads_export_has_real_text_and_trainer_columns(ctxs, reviewed, store):
    result = review.export(ctxs["lead"], "heads")
    [event] = list_events(store, action="review.export")
    assert event["username"] == "lead" and json.loads(event["details"])["contains_visit_text"] is True
    rows = _heads_rows(result)
    assert list(rows[0]) == ["text", *[h.target_column for h in HEADS]]
    assert [r["text"] for r in rows] == [NOTE_A]  # only the corrected item; approvals need opting in
    assert float(rows[0]["social_isolation_score"]) == 3.5 and float(rows[0]["family_history"]) == 1.0
    assert float(rows[0]["trauma_indicators"]) == 3.5  # uncorrected heads keep the model's value
    with_approved = review.export(ctxs["lead"], "heads", include_approved=True)
    assert [r["text"] for r in _heads_rows(with_approved)] == [NOTE_A, NOTE_B]


def test_lora_export_in_imhi_format(ctxs, reviewed):
    from core.llm.tasks import TASKS

    result = review.export(ctxs["lead"], "lora")
    rows = list(csv.DictReader(io.StringIO(result.data.decode())))
    assert list(rows[0]) == ["query", "gpt-3.5-turbo"]
    assert rows[0]["query"] == f'Consider this post: "{NOTE_A}" Question: {TASKS["depression"].question}'
    assert rows[0]["gpt-3.5-turbo"] == ("Yes, the poster suffers from depression. Reasoning: Insomnia, withdrawal "
                                        "and 'can't cope' suggest depression.")
    jl = review.export(ctxs["lead"], "lora", jsonl=True, include_approved=True)
    lines = [json.loads(x) for x in jl.data.decode().splitlines()]
    assert [set(x) for x in lines] == [{"query", "answer"}] * 2
    assert lines[1]["answer"].startswith("No, the poster does not suffer from depression. Reasoning: Model")


def test_flag_without_corrected_rationale_is_left_out_of_lora(ctxs, reviewed, store, users):
    review.send_back(ctxs["qa"], reviewed["llm_a"], "check again")
    review.decide(ctxs["qa2"], reviewed["llm_a"], "flag", reason="wrong_label", severity="low",
                  corrected_label="yes")
    result = review.export(ctxs["lead"], "lora")
    assert result.rows == 0
    assert result.skipped == {"flagged without corrected rationale": 1}


def test_conflicting_corrections_wait_for_adjudication(ctxs, store, users, reviewed):
    qa, qa2 = ctxs["qa"], ctxs["qa2"]
    review.send_back(qa, reviewed["llm_b"], "second opinion")
    review.set_overlap(qa, 2)
    review.decide(qa, reviewed["llm_b"], "flag", reason="wrong_label", severity="low", corrected_label="yes",
                  corrected_rationale="A")
    review.decide(qa2, reviewed["llm_b"], "flag", reason="wrong_label", severity="low", corrected_label="no",
                  corrected_rationale="B")
    assert review.export(ctxs["lead"], "lora").skipped == {"conflicting corrections": 1}
    review.adjudicate(qa, reviewed["llm_b"], "flag", reason="wrong_label", severity="low", corrected_label="yes",
                      corrected_rationale="Adjudicated rationale.")
    rows = [json.loads(x) for x in review.export(ctxs["lead"], "lora", jsonl=True).data.decode().splitlines()]
    assert any(r["answer"].endswith("Reasoning: Adjudicated rationale.") for r in rows)


def test_cli_export_writes_private_files(settings, store, users, reviewed, tmp_path, monkeypatch, capsys):
    import os
    import stat

    from core.cli import main
    from core.security import auth

    monkeypatch.setenv("MHD_DATA_DIR", str(settings.data_dir))
    auth.create_user(store, "lead.demo", "correct horse battery", "clinical_lead", actor=users["admin"])
    for fmt, name, who in [("csv", "flags.csv", "qa"), ("jsonl", "flags.jsonl", "qa"),
                           ("heads", "heads.csv", "lead.demo"), ("lora", "lora.jsonl", "lead.demo")]:
        out = tmp_path / name
        assert main(["review", "export", "--format", fmt, "--output", str(out), "--user", who]) == 0
        assert out.exists() and stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert json.loads((tmp_path / "lora.jsonl").read_text().splitlines()[0])["query"].startswith("Consider")
    assert [e["username"] for e in list_events(store, action="review.export")] == ["lead.demo", "lead.demo",
                                                                                  "qa", "qa"]
    capsys.readouterr()
    for fmt, who in [("csv", "psy"), ("heads", "qa"), ("lora", "qa"), ("csv", "lead.demo")]:
        out = tmp_path / f"refused-{fmt}-{who}"
        assert main(["review", "export", "--format", fmt, "--output", str(out), "--user", who]) == 2
        assert "does not allow" in capsys.readouterr().err and not out.exists()
    assert main(["review", "agreement", "--user", "qa"]) == 0


@pytest.mark.parametrize("jsonl", [False, True])
def test_lora_export_round_trips_through_the_lora_trainer_loader(ctxs, reviewed, tmp_path, jsonl):
    from core.llm import lora
    from core.llm.tasks import split_query

    result = review.export(ctxs["lead"], "lora", jsonl=jsonl, include_approved=True)
    path = tmp_path / result.filename
    path.write_bytes(result.data)
    examples = lora.read_examples(path)
    assert [(e["task"], e["label"]) for e in examples] == [("depression", "yes"), ("depression", "no")]
    assert split_query(examples[0]["query"])[0] == NOTE_A  # the real note, quotes and all
    assert examples[0]["rationale"].startswith("Insomnia, withdrawal")
    assert split_query(examples[1]["query"])[0] == NOTE_B


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_heads_export_round_trips_through_the_heads_trainer_loader(ctxs, reviewed, tmp_path, suffix):
    from core.models import training_data as heads_training
    result = review.export(ctxs["lead"], "heads", jsonl=suffix == ".jsonl", include_approved=True)
    path = tmp_path / f"corrections{suffix}"
    path.write_bytes(result.data)
    df, source = heads_training.load_training_data(path)
    assert source["rows"] == 2
    assert df["text"].tolist() == [NOTE_A, NOTE_B]
    a, b = df.to_dict("records")
    assert a["social_isolation_score"] == 3.5 and a["family_history"] == 1.0  # the reviewer's corrections
    assert a["trauma_indicators"] == 3.5 and a["support_system_strength"] == 2.0  # accepted model values
    assert b["family_history"] == 1.0  # accepted probability 0.5 becomes its 0/1 label
    assert a["sentiment_intensity"] == 0.0


def test_binary_head_corrections_are_yes_or_no(ctxs, reviewed):
    review.send_back(ctxs["qa"], reviewed["heads_b"], "family history unclear")
    with pytest.raises(ValidationError, match="0 or 1"):
        review.decide(ctxs["qa2"], reviewed["heads_b"], "flag", reason="wrong_label", severity="low",
                      corrected_scores={"family_history": 0.4})
