"""Training CLI and pipeline on a tiny random BERT: versioned output, the gate, the embedding cache, bad input."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core.errors import DataError
from tests.test_encoder import build_tiny_backbone


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_backbone(tmp_path_factory.mktemp("tiny-bert-train"))


@pytest.fixture
def env(tiny, tmp_path, monkeypatch):
    """Settings through the environment, as the CLI reads them."""
    monkeypatch.setenv("MHD_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("MHD_HEADS_DIR", str(tmp_path / "heads"))
    monkeypatch.setenv("MHD_ENCODER_BACKBONE", str(tiny))
    monkeypatch.setenv("MHD_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    return tmp_path


def _csv(tmp_path, n=300, changes=None):
    from core.synthetic.sessions import generate

    df = generate(n, seed=0).astype({"family_history": object})
    for (row, col), value in (changes or {}).items():
        df.loc[row, col] = value
    path = tmp_path / "train.csv"
    df.to_csv(path, index=False)
    return path


def _cli(*argv):
    from core.cli import main

    return main(list(argv))


def test_train_cli_writes_a_complete_version_and_moves_latest(env, tiny, capsys):
    out_dir = env / "trained_model"
    code = _cli("train", "--epochs", "4", "--batch-size", "32", "--learning-rate", "3e-2", "--freeze-backbone", "true",
                "--output-dir", str(out_dir), "--data", str(_csv(env)), "--max-length", "48", "--seed", "0")
    assert code == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "epoch 1: train" in err and "family_history" in err  # per-epoch lines with per-head losses
    version = (out_dir / "LATEST").read_text().strip()
    vdir = out_dir / version
    files = {p.name for p in vdir.iterdir()}
    assert {"config.json", "heads.safetensors", "metrics.json", "tokenizer"} <= files
    assert not [p for p in vdir.rglob("*") if p.suffix in (".bin", ".pt", ".pkl", ".pth")]  # no pickle
    assert (vdir / "heads.safetensors").stat().st_size < 10_000  # heads only, never the backbone
    cfg = json.loads((vdir / "config.json").read_text())
    assert cfg["backbone_id"] == str(tiny) and cfg["max_length"] == 48 and len(cfg["heads"]) == 5
    assert cfg["target_scaling"]["trauma"] == {"low": 0.0, "high": 7.0, "transform": "low + (high-low)*sigmoid"}
    m = json.loads((vdir / "metrics.json").read_text())
    assert [h["epoch"] for h in m["history"]] == [1, 2, 3, 4]
    assert set(m["history"][0]["val_heads"]) == {"sentiment", "family_history", "trauma", "isolation", "support"}
    assert {"loss", "mae_trauma", "mae_isolation", "f1_family_history", "auroc_family_history"} <= set(m["test"])
    assert m["split"] == {"train": 210, "val": 45, "test": 45, "seed": 0}
    assert len(m["data"]["fingerprint"]) == 64
    assert m["history"][1]["lr"] == pytest.approx(m["history"][0]["lr"] * 0.5)  # ExponentialLR gamma 0.5
    # The drift reference travels with the version: its outputs on the held-out test split, within each range.
    ref = json.loads((vdir / "reference.json").read_text())
    assert ref["n"] == 45 and "test split" in ref["source"]
    assert set(ref["heads"]) == set(cfg["target_scaling"]) and all(len(v) == 45 for v in ref["heads"].values())
    assert 0.0 <= min(ref["heads"]["trauma"]) <= max(ref["heads"]["trauma"]) <= 7.0


def test_failed_gate_keeps_latest(env, capsys):
    csv = _csv(env)
    assert _cli("train", "--epochs", "4", "--learning-rate", "3e-2", "--data", str(csv), "--max-length", "48") == 0
    heads = env / "heads"
    before = (heads / "LATEST").read_text()
    code = _cli("train", "--epochs", "1", "--data", str(csv), "--max-length", "48", "--val-loss-threshold", "0")
    assert code == 1 and "not promoted" in capsys.readouterr().out
    assert (heads / "LATEST").read_text() == before
    assert len([p for p in heads.iterdir() if p.name.startswith("v")]) == 2  # kept for inspection, not served


def test_cached_embeddings_give_the_same_numbers_as_recomputing(tiny, tmp_path):
    from core.models.training import TrainArgs, train
    from core.settings import load_settings

    settings = load_settings(env={}, data_dir=tmp_path / "var", heads_dir=tmp_path / "h", encoder_backbone=str(tiny))
    logs = []
    args = dict(epochs=3, learning_rate=3e-2, max_length=48, synthetic_rows=120, device="cpu")
    cached = train(settings, TrainArgs(**args), log=logs.append)["metrics"]
    again = train(settings, TrainArgs(**args), log=logs.append)["metrics"]
    fresh = train(settings, TrainArgs(recompute=True, **args), log=logs.append)["metrics"]
    assert any("cache hit" in m for m in logs)
    assert cached["embedding_cache"] and not fresh["embedding_cache"]
    for a, b, c in zip(cached["history"], again["history"], fresh["history"]):
        assert a["val_loss"] == b["val_loss"]
        assert a["train_loss"] == pytest.approx(c["train_loss"], abs=1e-4)
        assert a["val_loss"] == pytest.approx(c["val_loss"], abs=1e-4)
    assert cached["test"]["loss"] == pytest.approx(fresh["test"]["loss"], abs=1e-4)


def test_unfreezing_last_layers_saves_only_those_layers(tiny, tmp_path):
    from safetensors.torch import load_file

    from core.models.encoder import load_encoder, score_texts
    from core.models.training import TrainArgs, train
    from core.settings import load_settings

    settings = load_settings(env={}, data_dir=tmp_path / "var", heads_dir=tmp_path / "h", encoder_backbone=str(tiny))
    out = train(settings, TrainArgs(epochs=1, learning_rate=3e-2, max_length=48, synthetic_rows=80, device="cpu",
                                    unfreeze_last_n=1), log=lambda m: None)
    delta = load_file(f"{out['path']}/backbone_delta.safetensors")
    assert delta and all(".1." in k for k in delta)  # layer index 1 of 2, nothing else
    assert not out["metrics"]["embedding_cache"]
    [r] = score_texts(load_encoder(settings.replace(heads_version=out["version"])), ["i feel alone"])
    assert 0 <= r["heads"]["isolation"]["value"] <= 4


def test_column_map_jsonl_and_parquet(tmp_path):
    from core.models.training_data import load_training_data
    from core.synthetic.sessions import generate

    df = generate(12, seed=1).rename(columns={"text": "note", "trauma_indicators": "trauma"})
    df.to_json(tmp_path / "d.jsonl", orient="records", lines=True)
    df.to_parquet(tmp_path / "d.parquet")
    for name in ("d.jsonl", "d.parquet"):
        checked, info = load_training_data(tmp_path / name, {"note": "text", "trauma": "trauma_indicators"})
        assert len(checked) == 12 and info["source"].endswith(name)
    with pytest.raises(DataError, match="trauma_indicators"):
        load_training_data(tmp_path / "d.jsonl")


@pytest.mark.parametrize("change, message", [
    ({(4, "trauma_indicators"): 9}, r"row 5, column trauma_indicators: 9 is outside 0..7"),
    ({(2, "sentiment_intensity"): float("nan")}, r"row 3, column sentiment_intensity: missing value"),
    ({(7, "family_history"): "maybe"}, r"row 8, column family_history: 'maybe' is not 0/1"),
    ({(0, "text"): "   "}, r"row 1, column text: empty"),
])
def test_bad_labels_name_row_and_column(tmp_path, change, message):
    from core.models.training_data import load_training_data

    with pytest.raises(DataError, match=message):
        load_training_data(_csv(tmp_path, n=10, changes=change))


def test_bad_files(tmp_path):
    from core.models.training_data import load_training_data

    with pytest.raises(DataError, match="not found"):
        load_training_data(tmp_path / "missing.csv")
    (tmp_path / "empty.csv").write_text("text,sentiment_intensity,family_history,trauma_indicators,"
                                        "social_isolation_score,support_system_strength\n")
    with pytest.raises(DataError, match="empty"):
        load_training_data(tmp_path / "empty.csv")
    (tmp_path / "cols.csv").write_text("text,sentiment\nhello,0.1\n")
    with pytest.raises(DataError, match="missing column.*family_history"):
        load_training_data(tmp_path / "cols.csv")
    good = _csv(tmp_path, n=5).read_bytes().split(b"\n")
    good[3] = good[3].replace(b"a", b"\xe9", 1)  # Latin-1 byte in line 4
    (tmp_path / "latin.csv").write_bytes(b"\n".join(good))
    with pytest.raises(DataError, match="line 4 is not valid UTF-8"):
        load_training_data(tmp_path / "latin.csv")
    (tmp_path / "x.xlsx").write_bytes(b"")
    with pytest.raises(DataError, match="unsupported"):
        load_training_data(tmp_path / "x.xlsx")


def test_bad_data_through_the_cli_is_one_line_and_moves_nothing(env, capsys):
    bad = _csv(env, n=20, changes={(4, "social_isolation_score"): -1})
    assert _cli("train", "--data", str(bad), "--epochs", "1") == 2
    err = capsys.readouterr().err
    assert "row 5, column social_isolation_score" in err
    assert not (env / "heads").exists() or not (env / "heads" / "LATEST").exists()


def test_score_cli_adds_head_columns(env, capsys):
    assert _cli("train", "--epochs", "4", "--learning-rate", "3e-2", "--max-length", "48", "--rows", "300") == 0
    pd.DataFrame({"id": [1, 2], "text": ["i feel alone", "my mother has depression " * 30]}).to_csv(
        env / "in.csv", index=False)
    assert _cli("score", str(env / "in.csv"), "--output", str(env / "out.jsonl")) == 0
    out = pd.read_json(env / "out.jsonl", lines=True)
    assert {"sentiment", "family_history", "trauma", "isolation", "support", "trauma_std", "windows"} <= set(out)
    assert out["windows"].tolist()[1] > 1 and out["heads_version"].nunique() == 1


def test_split_is_seeded_and_disjoint():
    import numpy as np

    from core.models.training_data import split_indices

    a = split_indices(100, 7)
    assert [len(x) for x in a] == [70, 15, 15]
    assert len(np.unique(np.concatenate(a))) == 100
    assert all((x == y).all() for x, y in zip(a, split_indices(100, 7)))
    assert not (a[0] == split_indices(100, 8)[0]).all()
