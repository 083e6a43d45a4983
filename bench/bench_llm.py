"""LLM benchmark: decode speed vs the memory-bandwidth bound, label scoring vs generation, merged vs unmerged.

    python -m bench bench_llm            # prints a markdown section
    python -m bench.bench_llm --write    # also replaces "## LLM (issue 4)" in bench/RESULTS.md

Decoding one token reads every weight once, so tokens/s can not exceed
memory bandwidth / weight bytes; the ratio says how close the CPU path gets.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "imhi" / "test"
SECTION = "## LLM (issue 4)"

FALLBACK_POSTS = [
    ("stress", "Exams start Monday and I have three deadlines. I keep waking up at 4am with my heart racing."),
    ("depression", "Nothing feels worth doing anymore. I stopped answering my friends and stay in bed all day."),
    ("stress", "We adopted a puppy last week and the kids are thrilled. Weekend plans: beach and barbecue."),
    ("depression", "Started a new job, the team is friendly and I finally have a routine that works for me."),
]


def memory_bandwidth_gbs(mb: int = 512, repeats: int = 5) -> float:
    """Best-of copy bandwidth (read + write bytes / second) with torch on this machine's threads."""
    import torch

    n = mb * 1024 * 1024 // 4
    a = torch.ones(n, dtype=torch.float32)
    b = torch.empty_like(a)
    best = 0.0
    for _ in range(repeats):
        t = time.perf_counter()
        b.copy_(a)
        dt = time.perf_counter() - t
        best = max(best, 2 * a.numel() * 4 / dt / 1e9)
    return best


def weight_bytes(model) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


def decode_tokens_per_second(llm, prompt: str, new_tokens: int = 48) -> float:
    """Greedy decode rate, prompt pass excluded."""
    import torch

    ids = llm.tokenizer(prompt, return_tensors="pt")
    kwargs = {"do_sample": False, "pad_token_id": llm.tokenizer.pad_token_id}
    with torch.inference_mode():
        llm.model.generate(**ids, max_new_tokens=1, min_new_tokens=1, **kwargs)  # warm-up
        t = time.perf_counter()
        llm.model.generate(**ids, max_new_tokens=1, min_new_tokens=1, **kwargs)
        prefill = time.perf_counter() - t
        t = time.perf_counter()
        llm.model.generate(**ids, max_new_tokens=new_tokens, min_new_tokens=new_tokens, **kwargs)
        total = time.perf_counter() - t
    return (new_tokens - 1) / max(1e-9, total - prefill)


def sample_posts(n: int) -> list[tuple[str, str]]:
    if not SHARED.exists():
        return FALLBACK_POSTS[:n]
    import pandas as pd

    from core.llm.tasks import split_query

    out = []
    for stem, task in [("DR", "depression"), ("dreaddit", "stress")]:
        df = pd.read_csv(SHARED / f"{stem}.csv").sample(n // 2, random_state=0)
        out += [(task, split_query(q)[0]) for q in df["query"]]
    return out


def scoring_vs_generation(llm, posts) -> dict:
    from core.llm import answers, parsing

    score_t, stop_t, full_t, agree_stop, agree_full, parsed_full = [], [], [], 0, 0, 0
    for task, post in posts:
        t = time.perf_counter()
        s = answers.score_labels(llm, task, post)
        score_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        g = answers.label_by_generation(llm, task, post, max_new_tokens=32)
        stop_t.append(time.perf_counter() - t)
        agree_stop += g["label"] == s["label"]
        # MentaLLaMA's pipeline generates the whole answer, then reads the label from it.
        t = time.perf_counter()
        full = _generate_full(llm, task, post)
        full_t.append(time.perf_counter() - t)
        label = parsing.parse_response(task, full)["label"]
        parsed_full += label is not None
        agree_full += label == s["label"]
    n = len(posts)
    return {
        "n": n, "score_s": statistics.median(score_t), "gen_stop_s": statistics.median(stop_t),
        "gen_full_s": statistics.median(full_t),
        "agree_stop": agree_stop / n, "agree_full": agree_full / n, "parsed_full": parsed_full / n,
    }


def _generate_full(llm, task_name, post) -> str:
    from core.llm import answers
    from core.llm.tasks import get_task

    task = get_task(task_name)
    ids, cache, last, _, _ = answers._prefill(llm, task, post)
    text, _, _ = answers._greedy(llm, cache, last, max_new_tokens=llm.max_new_tokens)
    return text


def run(n_posts: int = 12) -> str:
    import torch

    from bench.machine import describe
    from core.llm.model import load_llm
    from core.settings import load_settings

    settings = load_settings()
    t = time.perf_counter()
    llm = load_llm(settings)
    load_s = time.perf_counter() - t
    merged = load_llm(settings, merge=True)
    bw = memory_bandwidth_gbs()
    wb = weight_bytes(merged.model)
    bound = bw * 1e9 / wb
    prompt = "Consider this post: \"I can't sleep and work is overwhelming.\" Question: Does the poster suffer from stress?\n"
    tps_unmerged = decode_tokens_per_second(llm, prompt)
    tps_merged = decode_tokens_per_second(merged, prompt)
    sv = scoring_vs_generation(llm, sample_posts(n_posts))
    lines = [
        SECTION,
        "",
        f"Run: {describe()} · torch {torch.__version__} threads {torch.get_num_threads()} · "
        f"model `{llm.version}` ({wb / 1e6:.0f} MB of fp32 weights) · `python -m bench bench_llm`.",
        f"Load average (1 min) at the end of the run: {os.getloadavg()[0]:.1f}; ratios are measured back to back.",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| load (converted GGUF cached as safetensors + adapter) | {load_s:.1f} s |",
        f"| memory bandwidth (torch copy, read+write) | {bw:.1f} GB/s |",
        f"| decode bound = bandwidth / weight bytes | {bound:.1f} tok/s |",
        f"| decode, adapter unmerged (PeftModel) | {tps_unmerged:.1f} tok/s ({tps_unmerged / bound:.0%} of bound) |",
        f"| decode, adapter merged | {tps_merged:.1f} tok/s ({tps_merged / bound:.0%} of bound); "
        f"merged/unmerged = {tps_merged / tps_unmerged:.2f}x |",
        f"| label by scoring, median latency ({sv['n']} IMHI posts) | {sv['score_s'] * 1000:.0f} ms |",
        f"| label by generation, stop at `Reasoning:` | {sv['gen_stop_s'] * 1000:.0f} ms "
        f"(scoring {sv['gen_stop_s'] / sv['score_s']:.1f}x faster); agreement {sv['agree_stop']:.0%} |",
        f"| label by generation of the full answer (MentaLLaMA pipeline, {llm.max_new_tokens} tokens max) | "
        f"{sv['gen_full_s'] * 1000:.0f} ms (scoring {sv['gen_full_s'] / sv['score_s']:.1f}x faster); "
        f"agreement {sv['agree_full']:.0%}, label readable in {sv['parsed_full']:.0%} |",
        "",
    ]
    return "\n".join(lines)


def write_section(text: str, path: Path = ROOT / "bench" / "RESULTS.md") -> None:
    """Replace (or append) this benchmark's own section, leaving the others' sections alone."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n\n"
    if SECTION in old:
        head, _, rest = old.partition(SECTION)
        nxt = rest.find("\n## ")
        tail = rest[nxt + 1:] if nxt >= 0 else ""
        new = head + text + ("\n" + tail if tail else "")
    else:
        new = old.rstrip("\n") + "\n\n" + text
    path.write_text(new, encoding="utf-8")


def main() -> None:
    text = run()
    print(text)
    if "--write" in sys.argv:
        write_section(text)


if __name__ == "__main__":
    main()
