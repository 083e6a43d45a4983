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
from functools import partial

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
    """The note with a run and line number in every sentence: every sentence new, so none comes from a cache."""
    return " ".join(f"{s.rstrip('.')} #{i}{j:02d}." for j, s in enumerate(note(270).split(". ")) if s)


def _runs(enc, repeats: int, offset: int) -> dict[str, list[float]]:
    from core.models.encoder import score_texts
    from core.safety import crisis_semantic as sem
    from core.safety.crisis_check import assess_crisis

    times: dict[str, list[float]] = {k: [] for k in ("cold", "warm", "rules", "every", "heads")}

    def timed(key, fn):
        t0 = time.perf_counter()
        fn()
        times[key].append((time.perf_counter() - t0) * 1000)

    for i in range(offset, offset + repeats):
        # Interleaved, so the machine's load weighs on every measurement alike.
        fresh = variant(i)
        units = [u.text + " ." for u in sem.split_units(fresh)]
        timed("cold", partial(assess_crisis, fresh, enc))       # a new note: its sentences embedded
        timed("warm", partial(assess_crisis, fresh, enc))       # the same note read again: sentence cache
        timed("rules", partial(assess_crisis, fresh, None))
        timed("every", partial(enc.sentence_embeddings, units))  # before: every unit embedded
        timed("heads", partial(score_texts, enc, [fresh + " "]))  # the five heads: their own backbone pass
    return times


def main(repeats: int = 15) -> None:
    import torch

    from bench.machine import describe
    from core.models.encoder import load_encoder
    from core.safety import crisis_semantic as sem
    from core.safety.crisis_check import assess_crisis
    from core.settings import load_settings

    text = variant(-1)
    enc = load_encoder(load_settings())
    t0 = time.perf_counter()
    sem._bank_for(enc)
    bank_s = time.perf_counter() - t0
    shipped = sem._precomputed(enc, sum(len(v) for part in sem.load_bank().values() for v in part.values()))
    result = assess_crisis(text, enc)  # warm-up
    units = sem.split_units(text)
    print(f"{describe()} · load average at start {os.getloadavg()[0]:.1f}")
    print(f"note: {len(text.split())} words, {len(units)} units, "
          f"{sum(sem.worth_embedding(u) for u in units)} of >= {sem.MIN_WORDS} words; flagged: "
          f"{[f.describe() for f in result.flags]}")
    print(f"exemplar bank: {'shipped embeddings read' if shipped is not None else 'embedded'} in {bank_s * 1000:.0f} ms")
    default = torch.get_num_threads()
    for n, threads in enumerate(dict.fromkeys((default, 1))):
        torch.set_num_threads(threads)
        t = _runs(enc, repeats, 1000 * (n + 1))
        med = statistics.median
        p95 = sorted(t["cold"])[int(0.95 * (len(t["cold"]) - 1))]
        print(f"-- torch threads {threads} · load average {os.getloadavg()[0]:.1f} · {repeats} runs, medians:")
        print(f"   layered check, new note: {med(t['cold']):.1f} ms (p95 {p95:.1f}; target < 50 ms) · same note again "
              f"(sentence cache): {med(t['warm']):.1f} ms · rules only: {med(t['rules']):.1f} ms")
        print(f"   embedding every unit (before): {med(t['every']):.1f} ms · five heads on the note: "
              f"{med(t['heads']):.1f} ms")
        print(f"   ratios: layered new note / heads {med(t['cold']) / med(t['heads']):.2f} · "
              f"layered new note / embedding every unit {med(t['cold']) / med(t['every']):.2f}")
    torch.set_num_threads(default)


if __name__ == "__main__":
    main()
