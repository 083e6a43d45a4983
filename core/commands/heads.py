"""Heads commands: train, models (list/promote/rollback/prune), score, export-onnx, evaluate-heads."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.errors import DataError
from core.models import registry as model_registry
from core.storage import open_store, records


def _bool(text: str) -> bool:
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def register(sub) -> None:
    p = sub.add_parser("train", help="train the five psychosocial heads (versioned output, LATEST moves on success)")
    p.add_argument("--data", help="CSV, Parquet or JSONL with the LongParas columns (default: synthetic generator)")
    p.add_argument("--column-map", help="rename columns: source=target,source2=target2")
    p.add_argument("--backbone", help="encoder: hub id already on disk, local folder, or embedded:all-MiniLM-L6-v2 "
                                      "(default: the encoder_backbone setting)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--max-length", type=int, default=256, help="tokens per training text")
    p.add_argument("--freeze-backbone", type=_bool, default=True, help="true (default: heads only) or false")
    p.add_argument("--unfreeze-last-n", type=int, default=0, help="also train the last N transformer layers")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--patience", type=int, default=2, help="early stopping: epochs without a better val loss")
    p.add_argument("--val-loss-threshold", type=float, help="LATEST moves only if the best val loss is at most this")
    p.add_argument("--pooling", choices=["cls", "mean"], default="cls",
                   help="first-token ([CLS]) embedding (spec) or attention-masked mean")
    p.add_argument("--rows", type=int, default=4000, help="synthetic rows when no --data is given")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--output-dir", help="folder of versions (default: the heads_dir setting)")
    p.set_defaults(func=train)

    p = sub.add_parser("train-task-heads", help="train the IMHI task heads (one classifier per IMHI question on the "
                                                "encoder's pooled embeddings; versioned, LATEST moves)")
    p.add_argument("--data", default=str(Path(__file__).resolve().parents[2].parent / "shared" / "data" / "imhi"
                                         / "train"),
                   help="IMHI training folder with DR/, dreaddit/, SAD/, Irf/, MultiWD/ (train.csv, else val.csv)")
    p.add_argument("--output", help="folder of task-head versions (default: the task_heads_dir setting)")
    p.add_argument("--backbone", help="encoder backbone (default: the encoder_backbone setting)")
    p.add_argument("--seed", type=int, default=0, help="seed of the held-out split")
    p.set_defaults(func=train_task_heads)

    p = sub.add_parser("models", help="heads versions: list, promote, rollback VERSION, prune --keep-days N")
    p.add_argument("--dir", help="folder of versions (default: the heads_dir setting)")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION")
    msub.required = True
    a = msub.add_parser("list", help="versions, gate results, losses; * marks LATEST")
    a.set_defaults(func=models_list)
    a = msub.add_parser("promote", help="point LATEST at VERSION (refuses a failed gate without --force)")
    a.add_argument("version")
    a.add_argument("--force", action="store_true")
    a.set_defaults(func=models_promote)
    a = msub.add_parser("rollback", help="point LATEST back at an earlier VERSION")
    a.add_argument("version")
    a.set_defaults(func=models_rollback)
    a = msub.add_parser("prune", help="delete versions older than --keep-days (never LATEST, the canary, or a "
                                      "version stored results name)")
    a.add_argument("--keep-days", type=int, required=True)
    a.add_argument("--include-referenced", action="store_true",
                   help="also delete old versions that stored results name (the results keep the name only)")
    a.add_argument("--dry-run", action="store_true")
    a.set_defaults(func=models_prune)

    p = sub.add_parser("score", help="add the five head columns (value and std) to a CSV/JSONL of texts")
    p.add_argument("file")
    p.add_argument("--output", required=True, help=".csv or .jsonl")
    p.add_argument("--column", default="text")
    p.add_argument("--indicators", action="store_true",
                   help="also add the psycholinguistic indicator columns (ind_*; empty where not reported)")
    p.set_defaults(func=score_file)

    p = sub.add_parser("export-onnx", help="export a heads version with its backbone to ONNX and check it")
    p.add_argument("version", nargs="?", default="latest")
    p.set_defaults(func=export_onnx)

    p = sub.add_parser("evaluate-heads", help="external validity of the heads on real text in ../shared/data")
    p.add_argument("--shared", default=str(Path(__file__).resolve().parents[2].parent / "shared" / "data"))
    p.add_argument("--output", default="var/heads-eval.md")
    p.add_argument("--limit", type=int, help="texts per dataset (for a quick look)")
    p.add_argument("--record", action="store_true",
                   help="write the figures to the heads version's external_evaluation.json (full runs only)")
    p.set_defaults(func=evaluate_heads)


def _heads_dir(args, settings) -> Path:
    return Path(args.dir) if getattr(args, "dir", None) else Path(settings.heads_dir)


def train(args, settings) -> int:
    from core.models.training import TrainArgs
    from core.models.training import train as run
    from core.models.training_data import parse_column_map

    targs = TrainArgs(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
                      weight_decay=args.weight_decay, max_length=args.max_length, seed=args.seed,
                      patience=args.patience, freeze_backbone=args.freeze_backbone,
                      unfreeze_last_n=args.unfreeze_last_n, val_loss_threshold=args.val_loss_threshold,
                      pooling=args.pooling, synthetic_rows=args.rows, device=args.device)
    out = run(settings, targs, data=Path(args.data) if args.data else None,
              column_map=parse_column_map(args.column_map), output_dir=args.output_dir, backbone=args.backbone)
    test = out["metrics"]["test"]
    print(f"{out['path']}  test loss {test['loss']:.4f}  "
          + " ".join(f"{k} {v:.3f}" for k, v in test.items() if k.startswith(("mae_", "f1_", "auroc_")) and v is not None)
          + ("  (LATEST)" if out["promoted"] else "  (not promoted: " + out["metrics"]["gate"]["reason"] + ")"))
    return 0 if out["promoted"] else 1


def train_task_heads(args, settings) -> int:
    from tqdm import tqdm

    from core.models.task_training import train_task_heads as run

    if args.backbone:
        settings = settings.replace(encoder_backbone=args.backbone)

    def bar(total, desc):
        return tqdm(total=total, desc=desc, file=sys.stderr, leave=False)

    out = run(settings, Path(args.data), Path(args.output) if args.output else None, seed=args.seed,
              log=lambda m: print(m, file=sys.stderr), progress_factory=bar)
    for task, m in out["metrics"]["heads"].items():
        print(f"{task:30s} out-of-fold wF1 {m['oof_weighted_f1']:.3f}  ECE {m['oof_ece_before']:.3f} -> "
              f"{m['oof_ece_after']:.3f}  (n {m['n']}, {m['folds']} folds)")
    print(f"{out['path']}  (LATEST)")
    return 0


def models_list(args, settings) -> int:

    rows = model_registry.describe(_heads_dir(args, settings))
    if not rows:
        print(f"no versions in {_heads_dir(args, settings)}")
        return 0
    for r in rows:
        fmt = lambda x: f"{x:.4f}" if isinstance(x, (int, float)) else "-"  # noqa: E731
        print(f"{'*' if r['latest'] else ' '} {r['version']}  gate {'pass' if r['gate_passed'] else 'FAIL'}  "
              f"val {fmt(r['best_val_loss'])}  test {fmt(r['test_loss'])}  epochs {r['epochs']}  data {r['data']}")
    return 0


def models_promote(args, settings) -> int:

    model_registry.promote(_heads_dir(args, settings), args.version, force=args.force)
    print(f"LATEST -> {args.version}")
    return 0


def models_rollback(args, settings) -> int:

    model_registry.rollback(_heads_dir(args, settings), args.version)
    print(f"LATEST -> {args.version}")
    return 0


def models_prune(args, settings) -> int:

    store = open_store(settings.database, key=settings.database_key)
    try:
        referenced = records.model_versions_in_use(store, kind="heads")
    finally:
        store.close()
    gone, kept = model_registry.prune(_heads_dir(args, settings), args.keep_days, dry_run=args.dry_run,
                                     referenced=referenced, include_referenced=args.include_referenced)
    print(("would delete: " if args.dry_run else "deleted: ") + (", ".join(gone) or "nothing"))
    for version, why in kept.items():
        print(f"kept {version}: {why}")
    return 0


def score_file(args, settings) -> int:
    import pandas as pd
    from tqdm import tqdm

    from core.models.encoder import load_encoder, score_texts
    from core.models.training_data import read_table

    df = read_table(Path(args.file))
    if args.column not in df.columns:
        raise DataError(f"{args.file}: no column {args.column!r}; columns are {', '.join(map(str, df.columns))}")
    texts = ["" if pd.isna(t) else str(t) for t in df[args.column].tolist()]
    enc = load_encoder(settings)
    bar = tqdm(total=0, desc="scoring windows", file=sys.stderr, leave=False)

    def progress(done, total):
        bar.total = total
        bar.update(done - bar.n)

    results = score_texts(enc, texts, progress=progress)
    bar.close()
    for name in enc.head_names:
        df[name] = [r["heads"][name]["value"] for r in results]
        df[f"{name}_std"] = [r["heads"][name]["std"] for r in results]
    df["windows"] = [r["windows"] for r in results]
    df["heads_version"] = enc.version
    if args.indicators:
        from core.clinical.indicators import add_columns

        add_columns(df, texts)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() in (".jsonl", ".ndjson"):
        df.to_json(out, orient="records", lines=True, force_ascii=False)
    else:
        df.to_csv(out, index=False)
    print(f"{len(df)} texts scored with heads {enc.version} -> {out}")
    return 0


def export_onnx(args, settings) -> int:
    from core.models.onnx_export import export

    info = export(settings, args.version)
    print(f"{info['path']}  max |onnx - torch| = {info['max_abs_diff']:.2e} on {info['checked_texts']} texts")
    return 0


def evaluate_heads(args, settings) -> int:
    from core.models.evaluation import evaluate

    table = evaluate(settings, Path(args.shared), limit=args.limit, record=args.record)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table, encoding="utf-8")
    print(table)
    return 0
