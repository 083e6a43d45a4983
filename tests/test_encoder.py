"""MultiTaskModel, windowed scoring, uncertainty, explanations, loading and ONNX, on a tiny random BERT.

One test loads the real embedded backbone with the shipped heads (slow).
"""

from __future__ import annotations

import pytest

from core.errors import ModelUnavailable, NoTrainedHeads
from core.models.heads import HEADS

WORDS = ("i you he she they my me no one alone friends family mother father nightmares flashbacks accident "
         "abuse support lonely happy sad feel feels have has not nobody talk talked weeks every day night "
         "client reports denies trauma history good great help helps always there and the a to of in at is was "
         "it with for since months work sleep mood down hopeless better").split()


def build_tiny_backbone(path, seed: int = 0):
    """A 2-layer, 32-wide BERT with a word-level vocabulary, saved like a hub model (no download)."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    path.mkdir(parents=True, exist_ok=True)
    letters = list("abcdefghijklmnopqrstuvwxyz0123456789.,;:'!?-")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *letters, *[f"##{c}" for c in letters]]
    (path / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n", encoding="utf-8")
    tok = BertTokenizerFast(vocab_file=str(path / "vocab.txt"), do_lower_case=True)
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=128)
    BertModel(cfg).save_pretrained(str(path))
    tok.save_pretrained(str(path))
    return path


@pytest.fixture(scope="session")
def tiny_backbone(tmp_path_factory):
    return build_tiny_backbone(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_heads(tiny_backbone, tmp_path_factory):
    """Heads trained for 4 epochs on 300 synthetic texts with the tiny backbone, max length 48 (so windows occur)."""
    from core.models.training import TrainArgs, train
    from core.settings import load_settings

    root = tmp_path_factory.mktemp("heads")
    settings = load_settings(env={}, data_dir=root / "var", heads_dir=root / "heads",
                             encoder_backbone=str(tiny_backbone), device="cpu")
    out = train(settings, TrainArgs(epochs=4, learning_rate=0.03, max_length=48, synthetic_rows=300, device="cpu"),
                log=lambda m: None)
    assert out["promoted"], out["metrics"]["gate"]
    return settings, out


@pytest.fixture(scope="session")
def tiny_encoder(tiny_heads):
    from core.models.encoder import load_encoder

    settings, _ = tiny_heads
    return load_encoder(settings)


def test_outputs_never_leave_their_ranges(tiny_backbone):
    import torch

    from core.models.checkpoint import MultiTaskModel, load_backbone

    bb, _ = load_backbone(str(tiny_backbone))
    model = MultiTaskModel(bb)
    with torch.no_grad():
        values = model.values(torch.tensor([[-1e4] * 5, [1e4] * 5, [0.0] * 5]))
    for j, spec in enumerate(HEADS):
        assert float(values[:, j].min()) >= spec.low and float(values[:, j].max()) <= spec.high
    assert float(values[0, 2]) == pytest.approx(0.0) and float(values[1, 2]) == pytest.approx(7.0)
    assert float(values[2, 0]) == pytest.approx(0.0)  # sentiment midpoint of -1..1


def test_windows_cover_every_token_and_fit_the_context(tiny_encoder):
    from core.models.windows import windows_for

    tok = tiny_encoder.tokenizer
    ids = list(range(10, 10 + 173))
    wins = windows_for(tok, ids, 48)
    assert len(wins) > 1 and all(len(w) <= 48 for w in wins)
    covered = {t for w in wins for t in w}
    assert set(ids) <= covered
    assert windows_for(tok, [], 48) == [[tok.cls_token_id, tok.sep_token_id]]


def test_length_batches_keep_a_short_last_window_out_of_a_full_window_batch():
    from core.models.windows import length_batches

    # a long note's windows: three full ones and a short last one
    assert length_batches([256, 256, 256, 60], 32) == [[3], [0, 1, 2]]
    assert length_batches([100, 110, 120], 32) == [[0, 1, 2]]  # similar lengths share a batch
    assert length_batches([10] * 5, 2) == [[0, 1], [2, 3], [4]]  # and never exceed the batch size
    batches = length_batches([5, 300, 40, 41, 290, 7], 32)
    assert sorted(i for b in batches for i in b) == list(range(6))


def test_score_texts_shape_ranges_and_long_text_windows(tiny_encoder):
    from core.models.encoder import score_texts

    long_text = "my mother has bipolar and i feel alone every day . " * 20
    seen = []
    out = score_texts(tiny_encoder, ["i feel happy", long_text, ""], progress=lambda d, t: seen.append((d, t)))
    assert [set(r) for r in out] == [{"heads", "windows", "tokens"}] * 3
    assert out[0]["windows"] == 1 and out[1]["windows"] > 1 and out[2]["tokens"] == 0
    assert out[1]["tokens"] > 48  # counted in full, not truncated
    for r in out:
        for spec in HEADS:
            h = r["heads"][spec.name]
            assert spec.low <= h["low"] <= h["value"] <= h["high"] <= spec.high
            assert h["std"] >= 0
    assert seen and seen[-1][0] == seen[-1][1]
    assert any(r["heads"][s.name]["std"] > 0 for r in out for s in HEADS)  # MC dropout does vary


def test_batched_scoring_equals_one_at_a_time(tiny_encoder):
    from core.models.encoder import score_texts

    texts = ["i feel alone", "client reports nightmares and flashbacks since the accident " * 3, "good"]
    together = score_texts(tiny_encoder, texts)
    for text, batched in zip(texts, together):
        [single] = score_texts(tiny_encoder, [text])
        for name, h in single["heads"].items():
            assert batched["heads"][name]["value"] == pytest.approx(h["value"], abs=1e-5)
            assert batched["heads"][name]["std"] == pytest.approx(h["std"], abs=1e-5)


def test_explain_attributes_words_and_is_cached(tiny_encoder):
    import torch

    from core.models.explain import explain

    text = "Client reports nightmares, flashbacks since the accident."
    pairs = explain(tiny_encoder, text, "trauma", steps=48)
    assert [w for w, _ in pairs] == text.split()  # whole words as written, punctuation attached
    assert all(isinstance(s, float) for _, s in pairs)
    info = tiny_encoder.last_explain
    # Completeness: attributions sum to f(x) - f(baseline) up to the Riemann-sum error.
    total = sum(s for _, s in pairs)
    assert info["completeness_gap"] <= 0.05 * abs(total) + 1e-3
    assert explain(tiny_encoder, text, "trauma", steps=48) is pairs
    with pytest.raises(KeyError):
        explain(tiny_encoder, text, "nope")
    assert torch.is_grad_enabled()


def test_no_checkpoint_raises_no_trained_heads(tmp_path):
    from core.models.encoder import load_encoder
    from core.settings import load_settings

    with pytest.raises(NoTrainedHeads, match="python -m core train"):
        load_encoder(load_settings(env={}, heads_dir=tmp_path / "empty", data_dir=tmp_path / "var"))


def test_heads_refuse_a_different_backbone(tiny_heads, tmp_path):
    from core.models.encoder import load_encoder

    settings, _ = tiny_heads
    with pytest.raises(ModelUnavailable, match="trained for backbone"):
        load_encoder(settings.replace(encoder_backbone="embedded:all-MiniLM-L6-v2"))
    other = build_tiny_backbone(tmp_path / "other", seed=1)  # same shape, different random weights
    import json

    vdir = settings.heads_dir / (settings.heads_dir / "LATEST").read_text().strip()
    cfg = json.loads((vdir / "config.json").read_text())
    cfg["backbone_id"] = str(other)
    (vdir / "config.json").write_text(json.dumps(cfg))
    try:
        with pytest.raises(ModelUnavailable, match="fingerprint"):
            load_encoder(settings.replace(encoder_backbone=str(other)))
    finally:
        cfg["backbone_id"] = settings.encoder_backbone
        (vdir / "config.json").write_text(json.dumps(cfg))


def test_onnx_export_matches_torch_and_serves(tiny_heads, tiny_encoder):
    from core.models.encoder import load_encoder, score_texts
    from core.models.onnx_export import export

    settings, out = tiny_heads
    info = export(settings, out["version"])
    assert info["max_abs_diff"] < 1e-4
    onnx_enc = load_encoder(settings.replace(encoder_runtime="onnx"))
    assert onnx_enc.onnx_session is not None
    texts = ["i feel alone and nobody helps", "good " * 80]
    for a, b in zip(score_texts(tiny_encoder, texts), score_texts(onnx_enc, texts)):
        assert a["windows"] == b["windows"]
        for name in a["heads"]:
            assert a["heads"][name]["value"] == pytest.approx(b["heads"][name]["value"], abs=1e-4)


def test_onnx_runtime_without_export_says_what_to_run(tiny_heads, tmp_path):
    from core.models.encoder import load_encoder

    settings, _ = tiny_heads
    with pytest.raises(ModelUnavailable, match="export-onnx"):
        load_encoder(settings.replace(encoder_runtime="onnx", data_dir=tmp_path / "fresh"))


@pytest.mark.slow
def test_shipped_heads_on_the_embedded_backbone_score_real_text():
    from core.models.encoder import load_encoder, score_texts
    from core.models.explain import explain
    from core.settings import load_settings

    enc = load_encoder(load_settings(env={}))
    assert enc.backbone_id == "embedded:all-MiniLM-L6-v2" and enc.version.startswith("v")
    lonely, connected, trauma, calm = score_texts(enc, [
        "I moved here last year and I still don't know anyone. I go days without talking to a single person.",
        "I see my friends every weekend and my family calls me most days, they are always there for me.",
        "Ever since I was assaulted I keep having flashbacks and nightmares, and I jump at every noise.",
        "Work was fine this week and I slept well. Nothing much to report.",
    ])
    assert lonely["heads"]["isolation"]["value"] > connected["heads"]["isolation"]["value"] + 0.5
    assert connected["heads"]["support"]["value"] > lonely["heads"]["support"]["value"] + 0.5
    assert trauma["heads"]["trauma"]["value"] > calm["heads"]["trauma"]["value"] + 1.0
    pairs = explain(enc, "I have nightmares about the assault every night.", "trauma", steps=16)
    top = max(pairs, key=lambda p: p[1])[0].lower()
    assert top in {"nightmares", "assault", "night"}
