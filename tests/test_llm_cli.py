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
