"""Could a cheaper backbone pass meet the speed targets of the task heads and the crisis check? Measured, side by side.

    python -m bench bench_cheaper_passes
    python -m bench.bench_cheaper_passes speed        # one part only: speed, spans or depth

Both targets are bounded by one all-MiniLM-L6-v2 pass on two CPU cores (fp32, AVX2, no bf16 or VNNI here). Each
option below is only worth taking if it keeps what the models read:

* ``speed``: the same note windows (20 IMHI DR test posts) through PyTorch fp32 (shipped), PyTorch with dynamic
  int8 linear layers, onnxruntime fp32 and onnxruntime with dynamic int8 weights; the median per post, and the
  cosine between each option's pooled window embeddings and the shipped ones (the heads were fitted on the latter);
* ``spans``: the crisis layer's sentences pooled from the heads' window pass (token states of the whole note
  averaged over each sentence's span: no second pass) against the shipped standalone sentence embeddings, on IMHI
  DR *train* posts: cosine, and the crisis similarity of the units the shipped layer flags;
* ``depth``: the first 3 of the 6 layers for the crisis sentences (half the cost) with the bank embedded the same
  way: the semantic layer alone on the evaluation set's crisis and hard-negative texts and on IMHI DR train
  posts by gold label, over a threshold grid.

No test post chooses anything here; DR train posts were also used to choose the shipped crisis threshold.
"""

from __future__ import annotations

import copy
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"


def _load():
    from core.models.encoder import load_encoder
    from core.settings import load_settings

    return load_encoder(load_settings(env={}))


def _dr_posts(split: str, n: int) -> list[str]:
    from core.safety import crisis_eval as ce

    sets = ce.real_post_sets(SHARED, dr_split=split)
    return [t for name, texts in sets.items() if "DR" in name for t in texts[:n]]


def _onnx_sessions(folder: Path):
    """onnxruntime sessions on the shipped heads version's export (``python -m core export-onnx``, checked against
    PyTorch) and on its dynamic int8 quantisation, written to ``folder``."""
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from core.models.onnx_export import export
    from core.settings import load_settings

    fp32 = Path(export(load_settings(env={}))["path"])
    int8 = folder / "model.int8.onnx"
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = 2
    # onnxruntime's threads spin after a run by default, which would slow the PyTorch path run right after it
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return {name: ort.InferenceSession(str(p), opts, providers=["CPUExecutionProvider"])
            for name, p in (("onnx fp32", fp32), ("onnx int8", int8))}


def speed(encoder, n: int = 20) -> list[dict]:
    import torch

    from core.models.encoder import embed_sequences
    from core.models.onnx_runtime import embed_with_onnx
    from core.models.windows import windows_for

    tok, pad = encoder.tokenizer, encoder.tokenizer.pad_token_id or 0
    posts = _dr_posts("test", n)[:n]
    notes = [windows_for(tok, tok(p, add_special_tokens=False, verbose=False)["input_ids"], encoder.max_length)
             for p in posts]
    int8 = copy.deepcopy(encoder.model)
    int8.backbone = torch.ao.quantization.quantize_dynamic(int8.backbone, {torch.nn.Linear}, dtype=torch.qint8)
    with tempfile.TemporaryDirectory() as tmp:
        sessions = _onnx_sessions(Path(tmp))
        paths = {"torch fp32 (shipped)": lambda s: embed_sequences(encoder.model, s, pad),
                 "torch int8": lambda s: embed_sequences(int8, s, pad),
                 **{k: (lambda s, sess=v: embed_with_onnx(sess, s, pad)) for k, v in sessions.items()}}
        times = {k: [] for k in paths}
        for f in paths.values():
            f(notes[0])  # warm-up
        for seqs in notes:  # interleaved: the load weighs on every path alike
            for name, f in paths.items():
                t = time.perf_counter()
                f(seqs)
                times[name].append(time.perf_counter() - t)
        every = [w for seqs in notes for w in seqs]
        ref = paths["torch fp32 (shipped)"](every)
        rows = []
        for name, f in paths.items():
            cos = torch.nn.functional.cosine_similarity(ref, f(every))
            rows.append({"path": name, "median_ms": statistics.median(times[name]) * 1000,
                         "cos_min": float(cos.min()), "cos_mean": float(cos.mean())})
    base = rows[0]["median_ms"]
    for r in rows:
        r["speedup"] = base / r["median_ms"]
    return rows


def span_embeddings(encoder, text: str, units) -> object:
    """Each unit's mean token state from the note's window pass (the heads' pass), L2-normalised."""
    import torch

    from core.models.task_evidence import _token_spans, _window_starts
    from core.models.windows import pad_batch, special_tokens, wrap

    tok = encoder.tokenizer
    ids, offsets = _token_spans(encoder, text)
    starts, content = _window_starts(encoder, len(ids))
    prefix, _ = special_tokens(tok)
    wins = [wrap(tok, ids[s:s + content]) for s in starts]
    with torch.inference_mode():
        batch, mask = pad_batch(wins, tok.pad_token_id or 0)
        hidden = encoder.model.backbone(input_ids=batch, attention_mask=mask).last_hidden_state
    out = []
    for u in units:
        toks = [k for k, (a, b) in enumerate(offsets) if a < u.end and b > u.start]
        states = [hidden[w, len(prefix) + k - s] for k in toks
                  for w, s in enumerate(starts) if s <= k < s + content][:max(1, len(toks))]
        out.append(torch.stack(states).mean(0) if states else torch.zeros(hidden.shape[-1]))
    return torch.nn.functional.normalize(torch.stack(out), dim=-1)


def spans(encoder, n: int = 120) -> dict:
    import torch

    from core.safety import crisis_semantic as sem

    bank = sem._bank_for(encoder)
    cosines, shipped_flags, kept, drops = [], 0, 0, []
    for text in _dr_posts("train", n // 2):
        units = [u for u in sem.split_units(text) if sem.worth_embedding(u)]
        if not units:
            continue
        alone = encoder.sentence_embeddings([u.text for u in units])
        ctx = span_embeddings(encoder, text, units)
        cosines += torch.nn.functional.cosine_similarity(alone, ctx).tolist()
        for i in range(len(units)):
            a_c, c_c = float((alone[i] @ bank.crisis.T).max()), float((ctx[i] @ bank.crisis.T).max())
            a_k, c_k = float((alone[i] @ bank.contrast.T).max()), float((ctx[i] @ bank.contrast.T).max())
            if a_c >= sem.THRESHOLD and a_c > a_k + sem.MARGIN:
                shipped_flags += 1
                kept += c_c >= sem.THRESHOLD and c_c > c_k + sem.MARGIN
                drops.append(a_c - c_c)
    return {"units": len(cosines), "cos_mean": statistics.mean(cosines),
            "cos_p5": sorted(cosines)[len(cosines) // 20], "shipped_flags": shipped_flags, "kept": kept,
            "crisis_sim_drop": statistics.mean(drops) if drops else float("nan")}


def depth(encoder, layers: int = 3, n: int = 150) -> dict:
    from core.safety import crisis_eval as ce
    from core.safety import crisis_semantic as sem

    rows = ce.read_labelled(ce.EVAL_SET)
    sets = {"eval crisis": [r["text"] for r in rows if r["expect"] == "crisis"],
            "eval hard negatives": [r["text"] for r in rows if r["expect"] == "none"],
            **{name: texts[:n] for name, texts in ce.real_post_sets(SHARED, dr_split="train").items()
               if "DR" in name}}
    full = encoder.model.backbone.encoder.layer
    saved_bank = sem.BANK_EMBEDDINGS
    out = {}
    try:
        sem.BANK_EMBEDDINGS = Path("/nonexistent")  # the shipped bank is 6-layer: embed it with this depth
        for k in (len(full), layers):
            encoder.model.backbone.encoder.layer = full[:k]
            for attr in ("_crisis_bank", "_crisis_sentences"):
                if hasattr(encoder, attr):
                    delattr(encoder, attr)
            t = time.perf_counter()
            scores = {name: [[(s.crisis, s.contrast) for s in sem.score_units(
                encoder, [u for u in sem.split_units(x) if sem.worth_embedding(u)])] for x in texts]
                for name, texts in sets.items()}
            elapsed = time.perf_counter() - t
            grid = {}
            for th in (0.66, 0.74, 0.82, 0.90):
                grid[th] = {name: sum(any(c >= th and c > k2 + sem.MARGIN for c, k2 in units) for units in s) / len(s)
                            for name, s in scores.items()}
            out[k] = {"seconds": elapsed, "grid": grid}
    finally:
        encoder.model.backbone.encoder.layer = full
        sem.BANK_EMBEDDINGS = saved_bank
        for attr in ("_crisis_bank", "_crisis_sentences"):
            if hasattr(encoder, attr):
                delattr(encoder, attr)
    return out


def main(parts: list[str] | None = None) -> None:
    import torch

    from bench.machine import describe

    parts = parts or ["speed", "spans", "depth"]
    if not SHARED.exists():
        print(f"skipped: {SHARED} not found (needs IMHI posts)")
        return
    torch.set_num_threads(2)
    encoder = _load()
    print(f"machine: {describe()} · load average (1 min) {os.getloadavg()[0]:.2f}")
    if "speed" in parts:
        print("\n| path | median ms per post (20 IMHI DR test posts) | speed-up | cosine to shipped, min / mean |")
        print("| --- | --- | --- | --- |")
        for r in speed(encoder):
            print(f"| {r['path']} | {r['median_ms']:.1f} | {r['speedup']:.2f}x | {r['cos_min']:.3f} / "
                  f"{r['cos_mean']:.3f} |")
    if "spans" in parts:
        r = spans(encoder)
        print(f"\nspans from the heads' window pass ({r['units']} units of IMHI DR train posts): cosine to the "
              f"standalone sentence embedding mean {r['cos_mean']:.3f}, 5th percentile {r['cos_p5']:.3f}; of "
              f"{r['shipped_flags']} units the shipped layer flags, {r['kept']} still flag "
              f"(crisis similarity lower by {r['crisis_sim_drop']:.2f} on average)")
    if "depth" in parts:
        res = depth(encoder)
        names = list(next(iter(res.values()))["grid"][0.66])
        print("\n| layers | threshold | " + " | ".join(f"semantic layer alone: {n}" for n in names) + " |")
        print("| --- | --- | " + " | ".join("---" for _ in names) + " |")
        for k, r in res.items():
            for th, rates in r["grid"].items():
                print(f"| {k} ({r['seconds']:.0f} s) | {th:.2f} | " + " | ".join(f"{rates[n]:.3f}" for n in names)
                      + " |")
    print(f"\nload average (1 min) after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:] or None)
