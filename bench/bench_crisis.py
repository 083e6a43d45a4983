"""Crisis check speed (issue 14): the layered check on a 300-word note with the encoder loaded.

python -m bench bench_crisis

A synthetic 300-word session note (a mix of ordinary clinical sentences and
one indirect crisis sentence) is checked with ``assess_crisis`` as a visit
save runs it: rules on the whole text, the semantic layer on every sentence
in one batched backbone pass. The exemplar bank is embedded once per loaded
encoder (reported separately, as at app start). Prints the median and p95 of
repeated runs, the rules-only cost, and the machine and load.
"""

from __future__ import annotations

import os
import statistics
import time

SENTENCES = [
    "She arrived on time and was appropriately dressed.",
    "Sleep has been broken, waking at four most mornings.",
    "Appetite reduced; she has lost about two kilograms this month.",
    "Work remains stressful, with a new manager and longer shifts.",
    "She spent the weekend with her sister and found it helpful.",
    "Medication adherence is good and side effects are mild.",
    "We reviewed the thought record and practised the breathing exercise.",
    "She described feeling flat and disconnected in the evenings.",
    "Concentration is poor and she has been making mistakes at work.",
    "She has been walking twice a week as agreed.",
    "Her relationship with her partner is strained but supportive.",
    "She worries about money and the upcoming rent increase.",
    "We discussed returning to her choir on Thursdays.",
    "She said she has started giving her books and plants to friends because she won't need them.",
    "Next session we will review activity scheduling and sleep hygiene.",
]


def note(words: int = 300) -> str:
    out, n, i = [], 0, 0
    while n < words:
        s = SENTENCES[i % len(SENTENCES)]
        out.append(s)
        n += len(s.split())
        i += 1
    return " ".join(out)


def variant(i: int) -> str:
    """The note with a visit number in every sentence: a new note each run, so no sentence comes from a cache."""
    return " ".join(f"{s[:-1]} (visit {i})." for s in note().split(". ") if s)


def main(repeats: int = 20) -> None:
    import torch

    from bench.machine import describe
    from core.models.encoder import load_encoder, score_texts
    from core.safety import crisis_semantic as sem
    from core.safety.crisis_check import assess_crisis
    from core.settings import load_settings

    text = note()
    enc = load_encoder(load_settings())
    t0 = time.perf_counter()
    sem._bank_for(enc)
    bank_s = time.perf_counter() - t0
    shipped = sem._precomputed(enc, sum(len(v) for part in sem.load_bank().values() for v in part.values()))
    result = assess_crisis(text, enc)  # warm-up
    units = sem.split_units(text)
    cold, warm, rules, every, heads = [], [], [], [], []
    for i in range(repeats):
        # Interleaved, so the machine's load weighs on every measurement alike.
        fresh = variant(i)
        t0 = time.perf_counter()
        assess_crisis(fresh, enc)                       # a new note: every sentence embedded
        cold.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        assess_crisis(fresh, enc)                       # the same note again (visit list re-read): cached sentences
        warm.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        assess_crisis(fresh, None)
        rules.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        enc.sentence_embeddings([u.text + f" ({i})" for u in sem.split_units(fresh)])  # the old way: every unit
        every.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        score_texts(enc, [fresh + " "])                 # the five heads on the same note (their own backbone pass)
        heads.append((time.perf_counter() - t0) * 1000)
    med = statistics.median
    print(f"{describe()} · load average {os.getloadavg()[0]:.1f} · torch threads {torch.get_num_threads()}")
    print(f"note: {len(text.split())} words, {len(units)} units, "
          f"{sum(sem.worth_embedding(u) for u in units)} of >= {sem.MIN_WORDS} words; flagged: "
          f"{[f.describe() for f in result.flags]}")
    print(f"exemplar bank: {'shipped embeddings read' if shipped is not None else 'embedded'} in {bank_s * 1000:.0f} ms")
    print(f"layered check, new note (cold), {repeats} runs: median {med(cold):.1f} ms, "
          f"p95 {sorted(cold)[int(0.95 * (len(cold) - 1))]:.1f} ms (target < 50 ms)")
    print(f"layered check, same note again (sentence cache): median {med(warm):.1f} ms")
    print(f"rules only: median {med(rules):.2f} ms")
    print(f"embedding every unit (before this change): median {med(every):.1f} ms")
    print(f"five heads on the same note: median {med(heads):.1f} ms")
    print(f"ratio layered cold / heads: {med(cold) / med(heads):.2f}; cold / every-unit: {med(cold) / med(every):.2f}")


if __name__ == "__main__":
    main()
