"""How often faithful rationales are wrongly marked "contradicted by the note".

The gold IMHI answers were written about their posts, so their reasoning sentences
should almost never be contradicted by the post; every claim marked contradicted
there is an upper bound on the false-contradiction rate of ``core.llm.polarity``
(some are real: a gold sentence can misread its post). Posts: a seeded sample of
60 per dataset from ../shared/data/imhi/test (DR, dreaddit, Irf).

    python -m bench bench_contradictions
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
TEST = ROOT.parent / "shared" / "data" / "imhi" / "test"


def run(per_dataset: int = 60, seed: int = 0) -> dict:
    import pandas as pd

    from core.llm.evidence import link_evidence, load_sentence_embedder
    from core.llm.parsing import parse_response
    from core.llm.tasks import split_query, task_for_query
    from core.settings import load_settings

    embedder = load_sentence_embedder(load_settings(env={}))
    counts: Counter = Counter()
    for dataset in ("DR", "dreaddit", "Irf"):
        df = pd.read_csv(TEST / f"{dataset}.csv").sample(per_dataset, random_state=seed)
        for query, answer in zip(df["query"], df["gpt-3.5-turbo"], strict=True):
            task = task_for_query(query, dataset)
            post, rationale = split_query(query)[0], parse_response(task.name, answer)["rationale"]
            if not post.strip() or not rationale:
                continue
            for claim in link_evidence(rationale, post, embedder=embedder):
                counts[(dataset, claim["status"])] += 1
    return dict(counts)


def main() -> None:
    from bench.machine import describe

    if not TEST.is_dir():
        print(f"skipped: {TEST} not found")
        return
    counts = run()
    print(f"{describe()}\n")
    print("| dataset | claims | supported | unsupported | contradicted |\n|---|---|---|---|---|")
    for dataset in ("DR", "dreaddit", "Irf", "all"):
        c = {s: sum(v for (d, st), v in counts.items() if st == s and dataset in (d, "all"))
             for s in ("supported", "unsupported", "contradicted")}
        n = sum(c.values())
        print(f"| {dataset} | {n} | {c['supported']} | {c['unsupported']} | {c['contradicted']} "
              f"({c['contradicted'] / n:.1%}) |")


if __name__ == "__main__":
    main()
