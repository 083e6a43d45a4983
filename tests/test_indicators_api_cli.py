"""Indicators through the API (POST /indicators, /predict with indicators=true) and the CLI (score --indicators)."""

from __future__ import annotations

import pandas as pd
import pytest

from core.clinical import indicators as ind
from tests.test_api import AUTH, env  # noqa: F401  (the API fixture with the embedded encoder)

NOTE = "I always feel hopeless. I do not feel helpless, but I can't sleep and my friends never call."


def test_indicators_endpoint_returns_rates_spans_and_emotion(env):  # noqa: F811
    client, _, _ = env
    r = client.post("/indicators", json={"text": NOTE}, headers=AUTH)
    assert r.status_code == 200
    body = r.json()
    local = ind.compute(NOTE)
    for name, cell in local["indicators"].items():
        assert {k: body["indicators"][name][k] for k in cell} == cell
    assert body["indicators"]["helplessness"]["negated"] == 1 and body["indicators"]["helplessness"]["count"] == 0
    assert [list(s) for s in local["spans"]] == body["spans"]
    assert any(s[2] == "hopelessness" and NOTE[s[0]:s[1]] == "hopeless" for s in body["spans"])
    assert set(body["emotion"]["share"]) == {"sadness", "fear", "anger", "joy", "neutral"}


@pytest.mark.parametrize("body,status", [({"text": ""}, 422), ({"text": "   "}, 422), ({}, 422),
                                         ({"text": "hi", "extra": 1}, 422)])
def test_indicators_endpoint_refuses_bad_bodies(env, body, status):  # noqa: F811
    client, _, _ = env
    assert client.post("/indicators", json=body, headers=AUTH).status_code == status


def test_indicators_endpoint_needs_the_token(env):  # noqa: F811
    client, _, _ = env
    assert client.post("/indicators", json={"text": NOTE}).status_code == 401


def test_indicators_endpoint_says_english_only_instead_of_zeros(env):  # noqa: F811
    client, _, _ = env
    body = client.post("/indicators", json={"text": "Je suis très fatigué et je ne dors plus."}, headers=AUTH).json()
    assert {c["status"] for c in body["indicators"].values()} == {"english_only"}
    assert all(c["value"] is None for c in body["indicators"].values())


def test_predict_adds_indicators_only_when_asked(env):  # noqa: F811
    client, _, _ = env
    plain = client.post("/predict", json={"text": NOTE}, headers=AUTH).json()
    assert plain["indicators"] is None and set(plain["heads"])
    flagged = client.post("/predict", json={"text": NOTE, "indicators": True}, headers=AUTH).json()
    assert flagged["heads"] == plain["heads"]
    assert flagged["indicators"]["indicators"]["hopelessness"]["count"] == 1
    assert "/indicators" in client.get("/openapi.json", headers=AUTH).json()["paths"]  # the schema needs the token


@pytest.mark.slow
def test_score_cli_adds_indicator_columns(tmp_path, monkeypatch, capsys):
    from core.cli import main

    monkeypatch.setenv("MHD_DATA_DIR", str(tmp_path / "var"))
    texts = [NOTE, "Patient reports low mood. She denies hopelessness.", "😢😢", "Je suis très fatigué."]
    pd.DataFrame({"id": range(4), "text": texts}).to_csv(tmp_path / "in.csv", index=False)
    assert main(["score", str(tmp_path / "in.csv"), "--output", str(tmp_path / "out.csv"), "--indicators"]) == 0
    out = pd.read_csv(tmp_path / "out.csv")
    assert {f"ind_{n}" for n in ind.NAMES} <= set(out) and "isolation" in out
    assert out["ind_hopelessness"][0] == pytest.approx(ind.compute(NOTE)["indicators"]["hopelessness"]["value"])
    assert pd.isna(out["ind_first_person"][1]) and out["ind_speaker"][1] == "third_person"
    assert out["ind_status"].tolist()[2:] == ["no_words", "english_only"]
    assert out["indicators_version"].nunique() == 1
    # without the flag: no indicator columns
    assert main(["score", str(tmp_path / "in.csv"), "--output", str(tmp_path / "plain.csv")]) == 0
    assert not [c for c in pd.read_csv(tmp_path / "plain.csv").columns if c.startswith("ind_")]


def test_backfill_command_fills_the_main_and_demo_databases(tmp_path, monkeypatch, capsys):
    from core.cli import main

    monkeypatch.setenv("MHD_DATA_DIR", str(tmp_path / "var"))
    assert main(["init-db"]) == 0 and main(["seed-demo"]) == 0
    capsys.readouterr()
    assert main(["backfill-indicators"]) == 0
    first = capsys.readouterr().out
    assert "mhdash.db: indicators computed for 0 visits" in first
    assert "demo.db: indicators computed for 0 visits" not in first and "demo.db: indicators computed for" in first
    assert main(["backfill-indicators"]) == 0
    assert "demo.db: indicators computed for 0 visits" in capsys.readouterr().out
