"""Task-head labels through the CLI (`analyze`, `evaluate-imhi` task-head column and --record) and the API
(`/analyze`), on the shipped task heads and the real embedded encoder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from core.cli import main

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "data" / "models" / "task-heads"
DEPRESSED = ("I have felt empty and hopeless for months. I stopped seeing my friends and I sleep all day. "
             "Nothing I used to enjoy means anything now.")
FINE = "We spent the weekend hiking with the kids and had a picnic by the lake. Work has been steady."


@pytest.fixture
def cli_env(monkeypatch, tmp_path):
    monkeypatch.setenv("MHD_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("MHD_DEVICE", "cpu")
    return tmp_path


@pytest.mark.slow
def test_analyze_without_rationale_takes_the_head_label_and_never_loads_the_llm(cli_env, monkeypatch):
    from core.llm import model

    monkeypatch.setattr(model, "load_llm", lambda *a, **k: pytest.fail("the LLM must not load"))
    src = cli_env / "texts.csv"
    pd.DataFrame({"text": [DEPRESSED, FINE]}).to_csv(src, index=False)
    out = cli_env / "out.csv"
    assert main(["analyze", str(src), "--task", "depression", "--no-rationale", "--output", str(out)]) == 0
    df = pd.read_csv(out)
    assert df["label"].tolist() == ["yes", "no"]
    assert set(df["label_source"]) == {"task_head"}
    version = (SHIPPED / "LATEST").read_text().strip()
    assert set(df["label_model_version"]) == {version} and set(df["prompt_version"]) == {"imhi-1"}
    assert "hopeless" in df["evidence"][0]


@pytest.mark.slow
def test_analyze_with_the_llm_records_both_labels(cli_env, monkeypatch):
    from tests._llm_fixture import tiny_model_dir

    monkeypatch.setenv("MHD_LLM_BASE", str(tiny_model_dir()))
    monkeypatch.setenv("MHD_LLM_ADAPTER", "")
    monkeypatch.setenv("MHD_MAX_NEW_TOKENS", "4")
    src = cli_env / "texts.jsonl"
    src.write_text(json.dumps({"text": DEPRESSED}) + "\n")
    out = cli_env / "out.jsonl"
    assert main(["analyze", str(src), "--task", "depression", "--output", str(out)]) == 0
    [row] = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["label"] == "yes" and row["label_source"] == "task_head" and row["llm_label"] in ("yes", "no")
    assert isinstance(row["rationale"], str) and row["model_version"]


@pytest.mark.slow
def test_analyze_refuses_task_heads_of_another_backbone_by_name(cli_env, monkeypatch, capsys):
    copy = cli_env / "task-heads"
    shutil.copytree(SHIPPED, copy)
    version = (copy / "LATEST").read_text().strip()
    cfg = json.loads((copy / version / "config.json").read_text())
    cfg["backbone_fingerprint"] = "0000000000000000"
    (copy / version / "config.json").write_text(json.dumps(cfg))
    monkeypatch.setenv("MHD_TASK_HEADS_DIR", str(copy))
    src = cli_env / "t.csv"
    pd.DataFrame({"text": [FINE]}).to_csv(src, index=False)
    assert main(["analyze", str(src), "--task", "depression", "--no-rationale", "--output",
                 str(cli_env / "o.csv")]) == 2
    assert "were trained for backbone weights" in capsys.readouterr().err
    assert not (cli_env / "o.csv").exists()


@pytest.mark.slow
def test_evaluate_imhi_skip_llm_gives_the_task_head_column_and_records_it(cli_env, monkeypatch, capsys):
    copy = cli_env / "task-heads"
    shutil.copytree(SHIPPED, copy)
    monkeypatch.setenv("MHD_TASK_HEADS_DIR", str(copy))
    data = cli_env / "imhi"
    data.mkdir()
    q = 'Consider this post: "{}" Question: Does the poster suffer from depression?'
    yes, no = "Yes, the poster suffers from depression. Reasoning: a", "No, the poster does not suffer from " \
                                                                         "depression. Reasoning: b"
    posts = [DEPRESSED, FINE, "I cry every night and feel worthless.",
             "Got a promotion at work today, celebrating with friends."]
    gold = ["yes", "no", "yes", "no"]
    pd.DataFrame({"query": [q.format(p) for p in posts],
                  "gpt-3.5-turbo": [yes if g == "yes" else no for g in gold]}).to_csv(data / "DR.csv", index=False)
    out = cli_env / "eval.md"
    assert main(["evaluate-imhi", "--data", str(data), "--skip-llm", "--record", "--output", str(out)]) == 0
    table = out.read_text()
    assert "Language-model columns skipped" in table
    # the column agrees with the heads asked directly
    from sklearn.metrics import f1_score, roc_auc_score

    from core.models import task_heads as th
    from core.models.encoder import load_encoder
    from core.settings import load_settings

    settings = load_settings(env={}, task_heads_dir=copy)
    enc = load_encoder(settings)
    heads = th.load_task_heads(settings, enc)
    preds = [th.predict(heads, enc, p, ["depression"])["depression"] for p in posts]
    wf1 = f1_score(gold, [p["label"] for p in preds], average="weighted")
    auroc = roc_auc_score([g == "yes" for g in gold], [p["probabilities"]["yes"] for p in preds])
    assert f"| DR | 4 | 0.333 / 0.500 | {wf1:.3f} / " in table and f"| {auroc:.3f} |" in table
    version = (copy / "LATEST").read_text().strip()
    saved = json.loads((copy / version / "evaluation.json").read_text())
    assert saved["datasets"]["DR"]["weighted_f1"] == round(wf1, 4) and saved["datasets"]["DR"]["tasks"] == ["depression"]
    assert saved["datasets"]["DR"]["majority"] == round(1 / 3, 4)


@pytest.mark.slow
def test_api_analyze_gives_the_head_label_with_provenance_and_evidence(tmp_path):
    from fastapi.testclient import TestClient

    from api.main import create_app
    from core.serving.server import ModelServer
    from core.settings import load_settings
    from tests.test_api import AUTH, TOKEN, real_llm

    settings = load_settings(env={}, data_dir=tmp_path / "var", api_token=TOKEN, device="cpu", max_new_tokens=8)
    server = ModelServer(settings, load_llm=lambda s: real_llm())
    with TestClient(create_app(settings, server=server)) as client:
        r = client.post("/analyze", json={"text": DEPRESSED, "task": "depression"}, headers=AUTH)
        assert r.status_code == 200, r.text
        body = r.json()
        version = (SHIPPED / "LATEST").read_text().strip()
        assert body["label"] == "yes" and body["label_source"] == "task_head"
        assert body["label_model_version"] == version and body["prompt_version"] == "imhi-1"
        assert body["model_version"] == real_llm().version  # the LLM wrote the rationale
        assert body["faithful_evidence"]["sentences"] and body["llm"]["label"] in ("yes", "no")
        assert body["llm"]["shown"] is False and body["disagreement"] is False  # the shipped adapter is unreliable
        assert body["reliability"]["reliable"] in (True, False)
        # a task without a head keeps the LLM's label
        other = client.post("/analyze", json={"text": DEPRESSED, "task": "depression_cause"}, headers=AUTH).json()
        assert other["label_source"] == "llm" and other["label_model_version"] == real_llm().version
        assert client.post("/analyze", json={"text": "   ", "task": "depression"}, headers=AUTH).status_code == 422
