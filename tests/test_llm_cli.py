"""CLI: parse, analyze and evaluate-imhi on small inputs (tiny model for analyze/evaluate)."""

import json

import pandas as pd
import pytest

from core.cli import main
from tests._llm_fixture import tiny_adapter_dir, tiny_model_dir


@pytest.fixture
def tiny_env(monkeypatch, tmp_path):
    monkeypatch.setenv("MHD_LLM_BASE", str(tiny_model_dir()))
    monkeypatch.setenv("MHD_LLM_ADAPTER", str(tiny_adapter_dir()))
    monkeypatch.setenv("MHD_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("MHD_DEVICE", "cpu")
    monkeypatch.setenv("MHD_MAX_NEW_TOKENS", "6")


def test_parse_command_adds_columns(tmp_path, capsys):
    src = tmp_path / "gen.csv"
    pd.DataFrame({"generated_text": ["\n\nYes, the poster suffers from stress. Reasoning: Panic.",
                                     "Reasoning: unclear.", ""]}).to_csv(src, index=False)
    out = tmp_path / "out.csv"
    assert main(["parse", "--task", "stress", str(src), "--column", "generated_text", "--output", str(out)]) == 0
    df = pd.read_csv(out)
    assert df["label"].tolist()[0] == "yes" and df["label"].isna().tolist()[1:] == [True, True]
    assert df["parse_ok"].tolist() == [True, False, False] and df["rationale"][0] == "Panic."
    assert "1/3 answers parsed" in capsys.readouterr().out


def test_parse_command_takes_a_dataset_name_and_infers_unstated_labels(tmp_path, capsys):
    src = tmp_path / "gen.csv"
    pd.DataFrame({"generated_text": [
        "No, the poster does not suffer from depression. Reasoning: A practical question about a bank account.",
        "\n\nReasoning: The poster conveys deep hopelessness, worthlessness and exhaustion, has lost interest in "
        "everything and describes wanting to disappear.",
        "Reasoning: unclear."]}).to_csv(src, index=False)
    out = tmp_path / "out.csv"
    assert main(["parse", "--task", "DR", str(src), "--output", str(out)]) == 0  # DR: the depression task
    df = pd.read_csv(out)
    assert df["label"].tolist()[:2] == ["no", "yes"] and pd.isna(df["label"][2])
    assert df["label_source"].tolist()[:2] == ["stated", "inferred"] and pd.isna(df["label_source"][2])
    assert pd.isna(df["label_probability"][0]) and 0.5 < df["label_probability"][1] <= 1
    assert df["parse_ok"].tolist() == [True, True, False] and df["note"][2]
    assert df["reader_version"][0].startswith("reasoning-reader-")
    assert "2/3 answers parsed (1 stated, 1 inferred from the reasoning)" in capsys.readouterr().out
    # stated labels only, on request
    assert main(["parse", "--task", "DR", str(src), "--output", str(out), "--no-infer"]) == 0
    assert pd.read_csv(out)["parse_ok"].tolist() == [True, False, False]


def test_parse_command_multi_question_dataset_and_unknown_names(tmp_path, capsys):
    src = tmp_path / "gen.csv"
    q = 'Consider this post: "x" Question: Does the post show risk of {}?'
    pd.DataFrame({"generated_text": ["Yes, the post shows this risk. Reasoning: a", "Reasoning: b"],
                  "query": [q.format("thwarted belongingness"), q.format("perceived burdensomeness")]}
                 ).to_csv(src, index=False)
    out = tmp_path / "out.csv"
    assert main(["parse", "--task", "Irf", str(src), "--output", str(out)]) == 0
    df = pd.read_csv(out)
    assert df["task"].tolist() == ["irf_thwarted_belongingness", "irf_perceived_burdensomeness"]
    assert df["label"][0] == "yes"
    pd.DataFrame({"generated_text": ["Reasoning: b"]}).to_csv(src, index=False)
    assert main(["parse", "--task", "MultiWD", str(src), "--output", str(out)]) == 2
    assert "asks 6 questions" in capsys.readouterr().err
    assert main(["parse", "--task", "reddit", str(src), "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Unknown task or dataset 'reddit'" in err and "datasets: CAMS, DR, dreaddit, Irf" in err


def test_parse_command_without_a_reader_warns_and_defaults_nothing(tmp_path, capsys):
    src = tmp_path / "gen.csv"
    pd.DataFrame({"generated_text": ["Reasoning: The poster is exhausted and hopeless about everything."]}
                 ).to_csv(src, index=False)
    out = tmp_path / "out.csv"
    assert main(["parse", "--task", "depression", str(src), "--output", str(out),
                 "--reader", str(tmp_path / "none")]) == 0
    assert "No reasoning reader in" in capsys.readouterr().err
    df = pd.read_csv(out)
    assert pd.isna(df["label"][0]) and not df["parse_ok"][0] and "no reasoning reader" in df["note"][0]


def test_train_and_evaluate_parser_commands(tmp_path, capsys):
    from tests.test_reasoning_reader import _tiny_train

    data = _tiny_train(tmp_path / "train")
    rr = tmp_path / "rr"
    assert main(["train-parser", "--data", str(data), "--output", str(rr), "--max-features", "300"]) == 0
    assert "1 tasks: stress" in capsys.readouterr().out and (rr / "reader.json").exists()
    ex = tmp_path / "examples"
    ex.mkdir()
    pd.DataFrame({"goldens": ["Yes, the poster suffers from stress. Reasoning: x",
                              "No, the poster does not suffer from stress. Reasoning: y"],
                  "generated_text": ["Reasoning: The poster feels overwhelmed and anxious about deadlines.",
                                     "No, the poster does not suffer from stress. Reasoning: A calm day."]}
                 ).to_csv(ex / "dreaddit_generated.csv", index=False)
    table = tmp_path / "parser.md"
    assert main(["evaluate-parser", "--data", str(ex), "--reader", str(rr), "--output", str(table)]) == 0
    text = table.read_text()
    # MentaLLaMA's rule gives the first label ("yes") to the answer that states none: right here by luck
    assert ("| dreaddit | 2 | 100.0% / 100.0% / 100.0% | 50.0% / 100.0% / 50.0% | 100.0% / 100.0% / 100.0% | 1 (1) | "
            "1 (1) | 100.0% |") in text
    from core.llm.parser_eval import mentallama_rule

    assert mentallama_rule("stress", "Reasoning: calm.") == "yes" and mentallama_rule("stress", "No, x") == "no"


def test_parse_command_names_a_missing_column(tmp_path, capsys):
    src = tmp_path / "gen.csv"
    pd.DataFrame({"x": ["a"]}).to_csv(src, index=False)
    assert main(["parse", "--task", "stress", str(src), "--output", str(tmp_path / "o.csv")]) == 2
    assert "no column 'generated_text'" in capsys.readouterr().err


def test_analyze_command_on_jsonl(tmp_path, tiny_env):
    src = tmp_path / "texts.jsonl"
    src.write_text("\n".join(json.dumps({"text": t}) for t in ["I feel hopeless.", "Great day at the beach."]))
    out = tmp_path / "out.jsonl"
    assert main(["analyze", str(src), "--task", "depression", "--output", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["label"] in ("yes", "no") for r in rows] == [True, True]
    assert all(0 < r["probability"] <= 1 and "rationale" in r and r["model_version"] for r in rows)


def test_evaluate_imhi_writes_a_table(tmp_path, tiny_env, capsys):
    data = tmp_path / "imhi"
    data.mkdir()
    q = 'Consider this post: "{}" Question: Does the poster suffer from stress?'
    pd.DataFrame({"query": [q.format("exams"), q.format("beach"), q.format("deadline")],
                  "gpt-3.5-turbo": ["Yes, the poster suffers from stress. Reasoning: a",
                                    "No, the poster does not suffer from stress. Reasoning: b",
                                    "Yes, the poster suffers from stress. Reasoning: c"]}).to_csv(data / "dreaddit.csv",
                                                                                                 index=False)
    out, cache = tmp_path / "eval.md", tmp_path / "preds.jsonl"
    assert main(["evaluate-imhi", "--data", str(data), "--output", str(out), "--cache", str(cache)]) == 0
    table = out.read_text()
    assert "| dreaddit | 3 | yes |" in table and "0.533 / 0.667" in table  # majority: always "yes"
    assert len(cache.read_text().splitlines()) == 6  # 3 rows x (adapted, base)
    assert main(["evaluate-imhi", "--data", str(data), "--output", str(out), "--cache", str(cache)]) == 0
    assert len(cache.read_text().splitlines()) == 6 and out.read_text() == table  # resumed from the cache


def test_recorded_evaluation_puts_a_note_on_answers_of_tasks_that_missed_their_baselines(tmp_path, monkeypatch):
    """evaluate-imhi --record writes evaluation.json beside the adapter (the model version does not change); a task
    whose dataset did not beat both baselines then carries a note on every answer, others do not."""
    import json
    import shutil

    from core.llm.answers import score_labels
    from core.llm.imhi import beats_both_baselines, margin_auroc, record
    from core.llm.model import EVALUATION_FILE, load_llm
    from tests._llm_fixture import tiny_settings

    adapter = tmp_path / "adapter"
    shutil.copytree(tiny_adapter_dir(), adapter)
    settings = tiny_settings(tmp_path, llm_adapter=str(adapter))
    before = load_llm(settings)
    assert before.weak_tasks == {}
    report = {"models": {"adapted": before.version}, "data_dir": "imhi", "limit": None, "max_post_tokens": None,
              "datasets": {
                  "dreaddit": {"n": 40, "tasks": ["stress"], "trained": True, "adapted_scored": {"weighted_f1": 0.40},
                               "majority": {"weighted_f1": 0.45}, "base_scored": {"weighted_f1": 0.30},
                               "adapted_margin_auroc": 0.51},
                  "DR": {"n": 40, "tasks": ["depression"], "trained": True, "adapted_scored": {"weighted_f1": 0.70},
                         "majority": {"weighted_f1": 0.60}, "base_scored": {"weighted_f1": 0.65}}}}
    assert beats_both_baselines(report["datasets"]["dreaddit"]) is False
    assert beats_both_baselines(report["datasets"]["DR"]) is True
    saved = json.loads(record(report, adapter).read_text())
    assert saved["datasets"]["dreaddit"]["beats_both_baselines"] is False and (adapter / EVALUATION_FILE).exists()
    after = load_llm(settings)
    assert after.version == before.version  # recording is not part of the adapter's identity
    weak = [n for n in score_labels(after, "stress", "Exams next week.")["notes"] if "did not beat" in n]
    assert weak and "weighted F1 0.40; majority class 0.45" in weak[0]
    assert not [n for n in score_labels(after, "depression", "Low mood.")["notes"] if "did not beat" in n]
    # The margin AUROC: perfectly ranked yes/no margins give 1, other label sets none.
    rows = [{"task": "stress", "gold": g} for g in ("yes", "no", "yes")]
    from core.llm.tasks import get_task

    assert tuple(get_task("stress").labels) == ("yes", "no")
    preds = [{"raw_scores": s} for s in ([-1.0, -3.0], [-3.0, -1.0], [-2.0, -2.5])]  # yes-no margins 2, -2, 0.5
    assert margin_auroc(rows, preds) == 1.0
    assert margin_auroc(rows, [{"raw_scores": list(reversed(p["raw_scores"]))} for p in preds]) == 0.0
    assert margin_auroc([{"task": "stress_cause", "gold": "work"}], [{"raw_scores": [0.0] * 9}]) is None
