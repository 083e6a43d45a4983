"""Crisis command: evaluate-crisis (the layered crisis check on labelled texts and on real posts)."""

from __future__ import annotations

import sys
from pathlib import Path

from core.errors import CoreError
from core.safety import crisis_eval as ce
from core.safety import crisis_semantic as sem

DEFAULT_SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
GROUPS = ("category", "person", "tense", "directness", "language", "split")


def register(sub) -> None:
    p = sub.add_parser("evaluate-crisis",
                       help="recall and false-positive rate of the crisis check (rules + semantic layer, as the "
                            "dashboard runs it) on the built evaluation set or a labelled file, and flag rates on "
                            "real posts")
    p.add_argument("--data", help="CSV or TSV with columns text and expect (crisis|none); default: the built "
                                  "evaluation set tests/data/crisis_eval.csv plus the real posts")
    p.add_argument("--split", choices=["all", "dev", "heldout"], default="all",
                   help="part of the built evaluation set (its 'split' column); ignored with --data")
    p.add_argument("--shared", default=str(DEFAULT_SHARED),
                   help="reference data folder with imhi/ and counsel-chat/ (default: ../shared/data)")
    p.add_argument("--posts", type=int, default=0,
                   help="at most this many real posts per group (0 = all); a sample is the first N in file order")
    p.add_argument("--rules-only", action="store_true", help="do not load the encoder (the semantic layer off)")
    p.add_argument("--sweep", action="store_true",
                   help="print recall / false-positive rate / real-post flag rate per semantic threshold on the "
                        "built evaluation set and IMHI DR train posts (how the threshold was chosen)")
    p.add_argument("--write-bank", action="store_true",
                   help="embed the exemplar bank with the loaded backbone and write data/models/"
                        "crisis_bank_embeddings.pt (shipped; read at app start) - after editing crisis_exemplars.json")
    p.set_defaults(func=evaluate_crisis)


def _encoder(settings, rules_only: bool):
    if rules_only:
        return None, "off (--rules-only)"
    from core.models.encoder import load_encoder

    try:
        return load_encoder(settings), "on"
    except CoreError as exc:
        return None, f"off ({exc})"


def _bar(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="text", file=sys.stderr, leave=False)


def _print_report(rep, title: str, *, groups=GROUPS, show_missed: int = 1000) -> None:

    print(f"\n== {title}")
    print(f"texts {rep.n} · crisis {rep.crisis} · none {rep.negatives}")
    if rep.crisis:
        print(f"recall            {rep.recall:.3f}  ({rep.caught}/{rep.crisis})")
    if rep.negatives:
        print(f"false-positive rate {rep.fpr:.3f}  ({rep.false_positives}/{rep.negatives})")
    if rep.by_layer:
        print("crisis texts flagged by layer: " + ", ".join(f"{k} {v}" for k, v in sorted(rep.by_layer.items())))
    for col in groups:
        items = sorted((k[1], v) for k, v in rep.by_group.items() if k[0] == col)
        if len(items) > 1 or (items and col == "category"):
            print(f"recall by {col}: " + " · ".join(f"{name} {c}/{t} ({c / t:.2f})" for name, (c, t) in items))
    for col in ("split", "category"):
        items = sorted((k[1], v) for k, v in rep.fp_group.items() if k[0] == col)
        if len(items) > 1:
            print(f"false-positive rate by {col}: "
                  + " · ".join(f"{name} {c}/{t} ({c / t:.2f})" for name, (c, t) in items))
    if rep.missed:
        print(f"missed crisis texts ({len(rep.missed)}):")
        for r in rep.missed[:show_missed]:
            print(f"  - [{r.get('category', '')}] {r['text']}")
    if rep.false_alarms:
        print(f"flagged 'none' texts ({len(rep.false_alarms)}):")
        for r in rep.false_alarms[:show_missed]:
            print(f"  - [{r.get('category', '')}] {r['text']}  <- {r['why']}")


def evaluate_crisis(args, settings) -> int:
    from core.safety.crisis_check import assess_crisis

    encoder, state = _encoder(settings, args.rules_only)
    print(f"crisis check: phrase rules + semantic layer {state}; threshold {sem.THRESHOLD:.2f} "
          f"({sem.CUE_THRESHOLD:.2f} with a risk-lexicon word), margin "
          f"{sem.MARGIN:.2f}, bank {sum(len(v) for v in sem.load_bank()['crisis'].values())} crisis / "
          f"{sum(len(v) for v in sem.load_bank()['contrast'].values())} contrast exemplars")

    def detect(text):
        return assess_crisis(text, encoder)

    if args.write_bank:
        if encoder is None:
            print("--write-bank needs the encoder")
            return 0
        path = sem.save_bank_embeddings(encoder)
        print(f"wrote {path} ({sem.bank_identity(encoder)['backbone_id']}, bank sha256 "
              f"{sem.bank_identity(encoder)['bank_sha256'][:12]})")
        return 0

    if args.sweep:
        if encoder is None:
            print("--sweep needs the encoder")
            return 0
        _sweep(args, encoder)
        return 0
    rows = ce.read_labelled(args.data or ce.EVAL_SET)
    if not args.data and args.split != "all":
        rows = [r for r in rows if r.get("split") == args.split]
    with _bar(len(rows), "labelled texts") as bar:
        rep = ce.evaluate(rows, detect, group_by=GROUPS, progress=bar.update)
    _print_report(rep, f"{Path(args.data).name if args.data else 'built evaluation set'}"
                       + ("" if args.data else f" (split: {args.split})"))
    if not args.data:
        direct = [r for r in rows if r.get("directness") == "direct" and r["expect"] == "crisis"]
        caught = sum(1 for r in direct if r not in rep.missed)
        print(f"recall on direct crisis texts {caught / len(direct):.3f} ({caught}/{len(direct)})" if direct else "")
        shared = Path(args.shared)
        if not shared.exists():
            print(f"\nreal posts: skipped, {shared} not found")
            return 0
        print("\n== real posts (flag rate by gold label)")
        for name, texts in ce.real_post_sets(shared).items():
            texts = texts[:args.posts] if args.posts else texts
            with _bar(len(texts), name) as bar:
                rate = ce.flag_rate(texts, detect, progress=bar.update)
            print(f"{name:40s} {rate:.3f}  (n={len(texts)})")
    return 0


def _sweep(args, encoder) -> None:
    from core.safety import crisis_eval as ce

    rows = ce.read_labelled(ce.EVAL_SET)
    with _bar(len(rows), "evaluation set") as bar:
        prof = []
        for r in rows:
            prof.append((r, ce.unit_profile(r["text"], encoder)))
            bar.update()
    real = {}
    shared = Path(args.shared)
    if shared.exists():
        for name, texts in ce.real_post_sets(shared, dr_split="train").items():
            if "DR" not in name:
                continue
            texts = texts[:args.posts or 300]
            with _bar(len(texts), name) as bar:
                real[name] = []
                for t in texts:
                    real[name].append(ce.unit_profile(t, encoder))
                    bar.update()
    print("\nthreshold cue-threshold margin | recall  direct  FPR | " + " | ".join(real))
    for margin in (0.0, 0.03, 0.06):
        for t in [x / 100 for x in range(58, 80, 2)]:
            for cue_t in [x / 100 for x in range(52, int(t * 100) + 1, 2)]:
                crisis = [ce.flagged_at(p, t, margin, cue_t) for r, p in prof if r["expect"] == "crisis"]
                direct = [ce.flagged_at(p, t, margin, cue_t) for r, p in prof
                          if r["expect"] == "crisis" and r.get("directness") == "direct"]
                neg = [ce.flagged_at(p, t, margin, cue_t) for r, p in prof if r["expect"] == "none"]
                rates = [sum(ce.flagged_at(p, t, margin, cue_t) for p in ps) / len(ps) for ps in real.values()]
                print(f"{t:9.2f} {cue_t:13.2f} {margin:6.2f} | {sum(crisis) / len(crisis):10.3f} "
                      f"{sum(direct) / len(direct):7.3f} {sum(neg) / len(neg):5.3f} | "
                      + " | ".join(f"{x:.3f}" for x in rates))
