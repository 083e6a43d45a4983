"""Heads benchmarks (issue 3): cached-embedding training vs recomputing, and batched scoring vs a naive loop.

python -m bench bench_heads          # all three parts; prints a markdown section
python -m bench.bench_heads --write  # and replaces the "## Heads (issue 3)" section of bench/RESULTS.md

1. Training, frozen MiniLM, the same synthetic data, 5 epochs (no early stop):
   embeddings cached once (cold cache, counted) vs the frozen backbone run on
   every batch of every epoch. Metrics must match within 1e-4.
2. score_texts (length-sorted batches, dynamic padding, inference_mode, MC
   dropout included) vs a naive loop: one text at a time padded to 256 tokens,
   on 256 counsel-chat questions (synthetic texts when ../shared is absent).
3. The same for an XLM-R-large-shaped backbone with random weights, built from
   a config (speed only), against the spec's < 200 ms per sample on CPU.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "counsel-chat" / "counsel_chat.csv"
SECTION = "## Heads (issue 3)"


def _texts(n: int = 256) -> tuple[list[str], str]:
    if SHARED.exists():
        import pandas as pd

        df = pd.read_csv(SHARED)
        q = (df["questionTitle"].fillna("") + ". " + df["questionText"].fillna("")).drop_duplicates()
        return q.head(n).tolist(), f"{n} counsel-chat questions"
    from core.synthetic.sessions import generate

    return generate(n, seed=99)["text"].tolist(), f"{n} synthetic session texts (../shared absent)"


def bench_training(rows: int = 1000) -> list[str]:
    from core.models.training import TrainArgs, train
    from core.settings import load_settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(env={}, data_dir=Path(tmp) / "var", heads_dir=Path(tmp) / "heads", device="cpu")
        args = dict(epochs=5, patience=99, synthetic_rows=rows, device="cpu")
        quiet = lambda m: None  # noqa: E731
        t0 = time.perf_counter()
        cached = train(settings, TrainArgs(**args), log=quiet)["metrics"]
        t_cached = time.perf_counter() - t0
        t0 = time.perf_counter()
        fresh = train(settings, TrainArgs(recompute=True, **args), log=quiet)["metrics"]
        t_fresh = time.perf_counter() - t0
    diffs = [abs(a[k] - b[k]) for a, b in zip(cached["history"], fresh["history"]) for k in ("train_loss", "val_loss")]
    diffs += [abs(cached["test"][k] - fresh["test"][k]) for k in cached["test"]
              if isinstance(cached["test"][k], float) and isinstance(fresh["test"][k], float)]
    return [
        f"**Training, frozen all-MiniLM-L6-v2, {rows} synthetic rows, 5 epochs, batch 32** (whole `train()` "
        "wall time, model loading and writing the version included)",
        "",
        "| mode | wall time | epochs |",
        "| --- | --- | --- |",
        f"| embeddings cached once (cold cache) | {t_cached:.1f} s | {len(cached['history'])} |",
        f"| frozen backbone recomputed every batch | {t_fresh:.1f} s | {len(fresh['history'])} |",
        "",
        f"Speed-up **{t_fresh / t_cached:.2f}x**; largest difference over per-epoch losses and test metrics "
        f"**{max(diffs):.1e}** (target: identical within 1e-4, >= 4x).",
    ]


def _naive(model, tokenizer, texts: list[str]) -> float:
    import torch

    t0 = time.perf_counter()
    with torch.no_grad():
        for t in texts:
            enc = tokenizer(t, padding="max_length", truncation=True, max_length=256, return_tensors="pt")
            pooled = model.embed(enc["input_ids"], enc["attention_mask"])
            model.values(model.heads(pooled))
    return time.perf_counter() - t0


def _scoring_rows(label: str, enc, texts: list[str], singles: int) -> list[str]:
    from core.models.encoder import score_texts

    score_texts(enc, texts[:4])  # warm-up
    t0 = time.perf_counter()
    out = score_texts(enc, texts)
    t_batched = time.perf_counter() - t0
    t_naive = _naive(enc.model, enc.tokenizer, texts)
    lat = []
    for t in texts[:singles]:
        s = time.perf_counter()
        score_texts(enc, [t])
        lat.append(time.perf_counter() - s)
    windows = sum(r["windows"] for r in out)
    toks = statistics.median(r["tokens"] for r in out)
    return [f"| {label} | {len(texts)} ({windows} windows, median {toks:.0f} tokens) | "
            f"{len(texts) / t_batched:.1f} texts/s | {len(texts) / t_naive:.1f} texts/s | "
            f"**{t_naive / t_batched:.2f}x** | {1000 * t_batched / len(texts):.0f} ms | "
            f"{1000 * statistics.median(lat):.0f} ms |"]


def bench_scoring(xlmr: bool = True) -> list[str]:
    import torch

    from core.models.checkpoint import MultiTaskModel
    from core.models.encoder import Encoder, load_encoder
    from core.settings import load_settings

    texts, what = _texts()
    lines = [f"**Scoring {what}**: `score_texts` (length-sorted batches of 32, dynamic padding, inference_mode, "
             "8 MC-dropout passes, windows) vs a naive loop (one text at a time, padded to 256 tokens, "
             "longer ones truncated). p50 single = median latency of `score_texts([text])` over 32 texts.",
             "",
             "| backbone | texts | score_texts | naive loop | speed-up | per text (batched) | p50 single |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    enc = load_encoder(load_settings(env={}))
    lines += _scoring_rows(f"all-MiniLM-L6-v2 + shipped heads {enc.version}", enc, texts, 32)
    if xlmr:
        from transformers import XLMRobertaConfig, XLMRobertaModel

        # XLM-R large shape (24 layers, 1024 hidden, 16 heads, 4096 FFN, 512 positions) with random weights.
        # The vocabulary is the MiniLM tokenizer's (30,522 rows, not 250,002): only the embedding lookup
        # depends on it, so speed is unchanged and the model builds in seconds with ~1.3 GB less memory.
        cfg = XLMRobertaConfig(vocab_size=enc.tokenizer.vocab_size, hidden_size=1024, num_hidden_layers=24,
                               num_attention_heads=16, intermediate_size=4096, max_position_embeddings=514,
                               pad_token_id=enc.tokenizer.pad_token_id or 0)
        torch.manual_seed(0)
        big = MultiTaskModel(XLMRobertaModel(cfg).eval())
        xenc = Encoder(model=big, tokenizer=enc.tokenizer, version="random", backbone_id="xlmr-large-shaped-random",
                       device="cpu", config={"max_length": 256})
        lines += _scoring_rows("XLM-R-large-shaped, random weights (speed only)", xenc, texts[:64], 8)
    lines += ["", f"torch threads: {torch.get_num_threads()}. Spec claim for the production backbone: "
              "< 200 ms per sample on CPU."]
    return lines


def main(write: bool = False) -> str:
    from bench.machine import describe

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    lines = [SECTION, "", describe() + (f" · load average {os.getloadavg()[0]:.1f} (CPU shared with other jobs)"),
             ""]
    lines += bench_training()
    lines += [""] + bench_scoring()
    text = "\n".join(lines) + "\n"
    print(text)
    if write:
        write_section(text)
    return text


def write_section(text: str) -> None:
    """Replace only this section of bench/RESULTS.md (others append their own)."""
    path = ROOT / "bench" / "RESULTS.md"
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    start = old.find(SECTION)
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        end = old.find("\n## ", start + len(SECTION))
        new = old[:start] + text + (old[end + 1:] if end >= 0 else "")
    path.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(write="--write" in sys.argv)
