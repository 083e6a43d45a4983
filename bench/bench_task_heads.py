"""Task heads: label cost vs the LLM's label scoring on the same notes, one shared backbone pass, faithfulness.

    python -m bench bench_task_heads          # prints a markdown section
    python -m bench.bench_task_heads speed    # one part only (speed or faithfulness)

Speed (one run, same notes, same process): a task-head label (backbone pass over the note's windows + the
linear head) against the LLM's label scoring (one prompt pass + the label sentences) — the ratio is what
matters, not the absolute seconds on a shared CPU. Then the embedding cache: after the five psychosocial heads
have scored a note, the task heads on it cost no backbone pass.

Faithfulness (IMHI DR and dreaddit test posts with at least 4 sentences, up to 60 per set; these posts were
not used to choose anything): deleting the top-k occlusion sentences must lower the label's probability more
than deleting k random sentences (averaged over 5 random draws per post).
"""

from __future__ import annotations

import os
import random
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "imhi" / "test"

FALLBACK_POSTS = [
    "Nothing feels worth doing anymore. I stopped answering my friends and stay in bed all day.",
    "Exams start Monday and I have three deadlines. I keep waking up at 4am with my heart racing.",
    "We adopted a puppy last week and the kids are thrilled. Weekend plans: beach and barbecue.",
    "Started a new job, the team is friendly and I finally have a routine that works for me.",
]


def _posts(dataset: str, n: int) -> list[str]:
    from core.llm.imhi import load_rows

    path = SHARED / f"{dataset}.csv"
    if not path.exists():
        return FALLBACK_POSTS[:n]
    rows, _ = load_rows(dataset, path, n, seed=1)
    return [r["post"] for r in rows]


def speed(settings, encoder, heads, llm, posts: list[str], task: str = "depression") -> dict:
    from core.llm.answers import score_labels
    from core.models import task_heads as th
    from core.models.encoder import score_texts

    th.predict(heads, encoder, posts[0], [task])  # warm-up
    score_labels(llm, task, posts[0])
    head_s, llm_s, shared_s = [], [], []
    for p in posts:
        encoder._embed_cache.clear()
        t = time.perf_counter()
        th.predict(heads, encoder, p, [task])
        head_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        r = score_labels(llm, task, p)
        r.pop("_cache"), r.pop("_last")
        llm_s.append(time.perf_counter() - t)
        encoder._embed_cache.clear()
        score_texts(encoder, [p])  # the five heads: one backbone pass, cached
        t = time.perf_counter()
        th.predict(heads, encoder, p)  # every task head after it: no backbone pass
        shared_s.append(time.perf_counter() - t)
    return {"n": len(posts), "head_ms": 1000 * statistics.median(head_s), "llm_ms": 1000 * statistics.median(llm_s),
            "ratio": sum(head_s) / sum(llm_s), "all_heads_after_five_ms": 1000 * statistics.median(shared_s)}


def faithfulness(encoder, heads, dataset: str, task: str, k: int = 2, limit: int = 60) -> dict:
    import numpy as np

    from core.llm.evidence import split_sentences
    from core.models import task_evidence
    from core.models import task_heads as th

    posts = [p for p in _posts(dataset, 400) if len(split_sentences(p)) >= 4][:limit]
    rng = random.Random(0)
    top_drops, rand_drops = [], []
    for p in posts:
        occ = task_evidence.occlusion(heads, encoder, p, task, top=None)
        li = heads.heads[task].labels.index(occ["label"])
        sents = split_sentences(p)
        top = [(s["start"], s["end"]) for s in occ["sentences"][:k]]
        variants = [task_evidence.remove_spans(p, top)]
        for _ in range(5):
            variants.append(task_evidence.remove_spans(p, [(s, e) for _, s, e in rng.sample(sents, k)]))
        emb = th.embed_notes(encoder, variants, use_cache=False)
        probs = heads.heads[task].probabilities(emb)[:, li]
        top_drops.append(occ["probability"] - probs[0])
        rand_drops.append(float(np.mean(occ["probability"] - probs[1:])))
    wins = sum(t > r for t, r in zip(top_drops, rand_drops, strict=True))
    return {"dataset": dataset, "posts": len(posts), "k": k, "top_drop": float(np.mean(top_drops)),
            "random_drop": float(np.mean(rand_drops)), "wins": wins}


def main(parts: tuple[str, ...] = ("speed", "faithfulness")) -> None:
    from bench.machine import describe
    from core.llm.model import load_llm
    from core.models.encoder import load_encoder
    from core.models.task_heads import load_task_heads
    from core.settings import load_settings

    settings = load_settings()
    encoder = load_encoder(settings)
    heads = load_task_heads(settings, encoder)
    llm = load_llm(settings) if "speed" in parts else None
    import torch

    print(f"Run: {describe()} · torch threads {torch.get_num_threads()} · task heads `{heads.version}` · "
          + (f"LLM `{llm.version}` · " if llm else "") + f"parts: {', '.join(parts)}\n")
    if "speed" in parts:
        _speed_table(settings, encoder, heads, llm)
    if "faithfulness" in parts:
        _faithfulness_table(encoder, heads)


def _speed_table(settings, encoder, heads, llm) -> None:
    before = os.getloadavg()
    s = speed(settings, encoder, heads, llm, _posts("DR", 20))
    after = os.getloadavg()
    print(f"Load average (1 min) on the {os.cpu_count()} cores: {before[0]:.2f} before the speed run, "
          f"{after[0]:.2f} after it.\n")
    print("| notes | task-head label (median ms) | LLM label scoring (median ms) | ratio (sum) | "
          "all task heads after the five heads (median ms) |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| {s['n']} IMHI DR test posts | {s['head_ms']:.1f} | {s['llm_ms']:.1f} | {100 * s['ratio']:.1f} % | "
          f"{s['all_heads_after_five_ms']:.2f} |\n", flush=True)


def _faithfulness_table(encoder, heads) -> None:
    print("| dataset | posts (>= 4 sentences) | k | mean drop, top-k deleted | mean drop, k random deleted | "
          "posts where top-k > random |")
    print("| --- | --- | --- | --- | --- | --- |")
    for dataset, task in (("DR", "depression"), ("dreaddit", "stress")):
        f = faithfulness(encoder, heads, dataset, task)
        print(f"| {dataset} | {f['posts']} | {f['k']} | {f['top_drop']:.3f} | {f['random_drop']:.3f} | "
              f"{f['wins']}/{f['posts']} |", flush=True)


if __name__ == "__main__":  # python -m bench.bench_task_heads [speed] [faithfulness]
    import sys

    main(tuple(sys.argv[1:]) or ("speed", "faithfulness"))
