"""Psycholinguistic indicator commands: evaluate-indicators, build-indicator-reference, backfill-indicators."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from core.clinical import indicator_records
from core.storage import open_store

_SHARED = str(Path(__file__).resolve().parents[2].parent / "shared" / "data")


def register(sub) -> None:
    p = sub.add_parser("evaluate-indicators",
                       help="Cohen's d of each indicator on real posts (IMHI DR, dreaddit, counsel-chat)")
    p.add_argument("--shared", default=_SHARED, help="reference data folder (default: ../shared/data)")
    p.add_argument("--output", default="var/indicators-eval.md", help="markdown table")
    p.add_argument("--json", help="also write the full results as JSON here")
    p.add_argument("--boot", type=int, default=1000, help="bootstrap resamples")
    p.add_argument("--limit", type=int, help="texts per comparison (for a quick look)")
    p.set_defaults(func=evaluate_indicators)

    p = sub.add_parser("build-indicator-reference",
                       help="the reference band: indicator percentiles of IMHI DR posts labelled not depressed")
    p.add_argument("--shared", default=_SHARED, help="reference data folder (default: ../shared/data)")
    p.add_argument("--output", help="JSON file (default: the indicators_reference setting)")
    p.set_defaults(func=build_reference)

    p = sub.add_parser("backfill-indicators",
                       help="compute and store the indicators of every visit that lacks the current version's")
    p.set_defaults(func=backfill)


class _Bar:
    def __init__(self, desc: str):
        from tqdm import tqdm

        self.bar = tqdm(desc=desc, unit="text", file=sys.stderr, leave=False)

    def __call__(self, n: int) -> None:
        self.bar.update(n)

    def close(self) -> None:
        self.bar.close()


def evaluate_indicators(args, settings) -> int:
    from core.clinical import indicator_eval

    bar = _Bar("indicators")
    results = indicator_eval.evaluate(Path(args.shared), n_boot=args.boot, limit=args.limit, progress=bar)
    bar.close()
    table = indicator_eval.markdown(results)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table, encoding="utf-8")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(table)
    return 0


def build_reference(args, settings) -> int:
    import numpy as np

    from core.clinical import indicator_eval

    label, source, texts, y = indicator_eval.load_groups(Path(args.shared))[0]
    neg = [t for t, v in zip(texts, y, strict=True) if v == 0]
    bar = _Bar("not-depressed posts")
    matrix = indicator_eval.indicator_matrix(neg, bar)
    bar.close()
    ref = indicator_eval.build_reference(matrix if len(neg) else np.empty((0, 0)), source)
    path = indicator_eval.write_reference(ref, Path(args.output) if args.output else settings.indicators_reference)
    print(f"reference band of {ref['n']} posts ({label}, group 'not') -> {path}")
    return 0


def backfill(args, settings) -> int:
    for path in (settings.database, settings.demo_database):
        if path != settings.database and not Path(path).exists():
            continue
        bar = _Bar(f"visits in {Path(path).name}")
        store = open_store(path)
        try:
            done = indicator_records.backfill(store, progress=lambda n, bar=bar: bar(n - bar.bar.n))
        finally:
            store.close()
            bar.close()
        print(f"{Path(path).name}: indicators computed for {done} visits")
    return 0
