"""Indicators benchmark (issue 16): one 300-word note on one core, against the < 10 ms budget; and a 20,000-word one.

python -m bench bench_indicators          # prints a markdown section
python -m bench.bench_indicators --write  # and replaces the "## Indicators (issue 16)" section of bench/RESULTS.md

The notes are real counsel-chat questions joined until 300 words (synthetic session texts when ../shared is
absent). ``compute`` is single-threaded pure Python; each call is timed by the thread's CPU clock (what one core
spends on it, unaffected by other processes on a shared machine) and by the wall clock. The first call (loading
the VADER lexicon, compiling the lists) is timed apart.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "counsel-chat" / "counsel_chat.csv"
SECTION = "## Indicators (issue 16)"


def _words(n: int) -> tuple[str, str]:
    if SHARED.exists():
        import pandas as pd

        df = pd.read_csv(SHARED)
        text = " ".join((df["questionTitle"].fillna("") + ". " + df["questionText"].fillna("")).drop_duplicates())
        source = "counsel-chat questions"
    else:
        from core.synthetic.sessions import generate

        text = " ".join(generate(200, seed=7)["text"].tolist())
        source = "synthetic session texts (../shared absent)"
    words = text.split()
    while len(words) < n:
        words = words + words
    return " ".join(words[:n]), source


def _time(fn, runs: int) -> tuple[list[float], list[float]]:
    cpu, wall = [], []
    for _ in range(runs):
        c0, w0 = time.thread_time(), time.perf_counter()
        fn()
        cpu.append((time.thread_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    return cpu, wall


def _p(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def run() -> str:
    sys.path.insert(0, str(ROOT))
    from bench.machine import describe
    from core.clinical import indicators

    note, source = _words(300)
    c0 = time.perf_counter()
    first = indicators.compute(note)
    cold = (time.perf_counter() - c0) * 1000
    cpu, wall = _time(lambda: indicators.compute(note), 300)
    big, _ = _words(20_000)
    bcpu, bwall = _time(lambda: indicators.compute(big), 5)
    load = os.getloadavg()[0]
    med = statistics.median(cpu)
    lines = [SECTION, "", f"{describe()} · load average {load:.1f} at the start", "",
             f"Indicators {indicators.version()}; notes from {source}; {first['words']} words, "
             f"{first['sentences']} sentences, {len(first['spans'])} spans.", "",
             "| note | runs | CPU ms p50 | CPU ms p95 | wall ms p50 | wall ms p95 |", "| --- | ---: | ---: | ---: | ---: | ---: |",
             f"| 300 words | {len(cpu)} | {med:.2f} | {_p(cpu, .95):.2f} | {statistics.median(wall):.2f} | "
             f"{_p(wall, .95):.2f} |",
             f"| 20,000 words | {len(bcpu)} | {statistics.median(bcpu):.0f} | {_p(bcpu, .95):.0f} | "
             f"{statistics.median(bwall):.0f} | {_p(bwall, .95):.0f} |", "",
             f"First call in a process (loads the VADER lexicon, compiles the lists): {cold:.0f} ms wall.", "",
             f"Budget: < 10 ms for a 300-word note on one core: **{'met' if med < 10 else 'NOT met'}** "
             f"(median CPU time {med:.2f} ms). Wall time on this shared machine includes waiting for a core."]
    return "\n".join(lines) + "\n"


def main() -> None:
    section = run()
    print(section)
    if "--write" in sys.argv:
        path = ROOT / "bench" / "RESULTS.md"
        text = path.read_text(encoding="utf-8")
        if SECTION in text:
            start = text.index(SECTION)
            nxt = text.find("\n## ", start + len(SECTION))
            text = text[:start] + section + (text[nxt + 1:] if nxt != -1 else "")
        else:
            text = text.rstrip("\n") + "\n\n" + section
        path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
