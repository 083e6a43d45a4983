"""LLM commands: train-lora, evaluate-imhi, parse, analyze, llm-info (train-parser, evaluate-parser: parser.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from core.errors import DataError, ReaderUnavailable, TaskHeadsBackboneMismatch, TaskHeadsUnavailable
from core.labels import answer
from core.llm import lora
from core.llm import model as llm_model
from core.llm.imhi import evaluate, write_markdown
from core.llm.lora import LoraArgs
from core.llm.parsing import parse_response
from core.llm.reasoning_reader import load_reader
from core.llm.tasks import get_task, resolve_tasks, task_for_query


def register(sub) -> None:
    p = sub.add_parser("train-lora", help="train a LoRA adapter on IMHI-style instruction data")
    p.add_argument("--data", nargs="+", required=True,
                   help="CSV (query,gpt-3.5-turbo) / JSONL {query,answer} files or folders of them")
    p.add_argument("--output", required=True, help="adapter directory to write (resumes when it has a checkpoint)")
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--alpha", type=int, default=16)
    p.add_argument("--dropout", type=float, default=0.05)
    p.add_argument("--target-modules", default="q_proj,k_proj,v_proj,o_proj",
                   help="comma-separated module names to adapt")
    p.add_argument("--max-length", type=int, default=320, help="tokens per example; long posts are cut")
    p.add_argument("--max-answer-tokens", type=int, default=96)
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--lr", type=float, default=2e-4, help="learning rate")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--grad-accum", type=int, default=2)
    p.add_argument("--label-weight", type=float, default=3.0, help="loss weight of the label sentence tokens")
    p.add_argument("--limit", type=int, help="use at most N examples, stratified over task and label")
    p.add_argument("--max-steps", type=int, help="stop after N optimizer steps")
    p.add_argument("--save-every", type=int, default=20, help="checkpoint every N steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--gradient-checkpointing", action="store_true", help="trade compute for memory (large bases)")
    p.add_argument("--no-resume", action="store_true", help="ignore an existing checkpoint")
    p.set_defaults(func=train_lora)

    p = sub.add_parser("evaluate-imhi", help="weighted F1 / accuracy on IMHI CSV files, with baselines")
    p.add_argument("--data", required=True, help="folder of IMHI CSV files named by dataset (DR.csv, SAD.csv, ...)")
    p.add_argument("--tasks", nargs="*", help="dataset names or task names to evaluate (default: all found)")
    p.add_argument("--limit", type=int, help="rows per dataset (a seeded random sample)")
    p.add_argument("--output", default="var/imhi-eval.md", help="markdown table to write")
    p.add_argument("--no-base", action="store_true", help="skip the base-model-without-adapter baseline")
    p.add_argument("--no-generate", action="store_true", help="skip the paper-style generated-label column")
    p.add_argument("--no-base-generate", action="store_true", help="base model: scored labels only (faster)")
    p.add_argument("--max-post-tokens", type=int, help="read only the first N tokens of each post (faster)")
    p.add_argument("--models", default="adapted,base", help="which of adapted,base to run (default both)")
    p.add_argument("--record", action="store_true",
                   help="write the results beside the adapter (evaluation.json): answers of tasks that did not beat "
                        "both baselines then carry a note")
    p.add_argument("--skip-llm", action="store_true",
                   help="only the majority class and the task heads (the LLM columns take hours on a CPU)")
    p.add_argument("--no-task-heads", action="store_true", help="skip the task-head column")
    p.add_argument("--task-head-limit", type=int,
                   help="rows per dataset for the task-head column (default: every row, whatever --limit says)")
    p.add_argument("--cache", default="var/imhi-eval-cache.jsonl",
                   help="predictions are kept here so a stopped or repeated run does not redo them ('' = off)")
    p.set_defaults(func=evaluate_imhi)

    p = sub.add_parser("parse", help="read MentaLLaMA-style answers into label, label_source, label_probability, "
                                      "rationale, parse_ok columns")
    p.add_argument("file", help="CSV or JSONL")
    p.add_argument("--task", required=True,
                   help="task name or IMHI dataset name (DR, dreaddit, SAD, Irf, MultiWD, CAMS, loneliness, t-sid, "
                        "swmh); a dataset asking several questions needs a query column")
    p.add_argument("--column", default="generated_text")
    p.add_argument("--query-column", default="query", help="IMHI query column (picks the task per row)")
    p.add_argument("--output", required=True)
    p.add_argument("--reader", help="reasoning reader folder (default: settings.reasoning_reader)")
    p.add_argument("--no-infer", action="store_true", help="stated labels only: do not infer from the reasoning")
    p.set_defaults(func=parse_file)

    p = sub.add_parser("analyze", help="label, probability and rationale for every text of a CSV/JSONL (column text)")
    p.add_argument("file")
    p.add_argument("--task", required=True)
    p.add_argument("--column", default="text")
    p.add_argument("--output", required=True)
    p.add_argument("--no-rationale", action="store_true",
                   help="labels and probabilities only (fast; for a task with a task head the LLM does not run)")
    p.set_defaults(func=analyze_file)

    p = sub.add_parser("llm-info", help="load the configured LLM and print what was loaded")
    p.set_defaults(func=llm_info)


def train_lora(args, settings) -> int:

    largs = LoraArgs(
        rank=args.rank, alpha=args.alpha, dropout=args.dropout,
        target_modules=tuple(m.strip() for m in args.target_modules.split(",") if m.strip()),
        max_length=args.max_length, max_answer_tokens=args.max_answer_tokens, epochs=args.epochs,
        learning_rate=args.lr, batch_size=args.batch_size, grad_accum=args.grad_accum,
        label_weight=args.label_weight, limit=args.limit, max_steps=args.max_steps, save_every=args.save_every,
        seed=args.seed, gradient_checkpointing=args.gradient_checkpointing,
    )
    prov = lora.train_lora(settings, args.data, args.output, largs, resume=not args.no_resume,
               log=lambda m: print(m, file=sys.stderr, flush=True))
    print(f"adapter written to {args.output}: {prov['steps_done']}/{prov['total_steps']} steps, "
          f"{prov['examples']} examples, last loss {prov['train_loss_last']}")
    return 0


def evaluate_imhi(args, settings) -> int:

    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)

    def save(partial: dict) -> None:  # the table so far, so a long run can be read (or stopped) midway
        out.write_text(write_markdown(partial), encoding="utf-8")

    heads = encoder = evaluate_rows = None
    if not args.no_task_heads:
        from core.models.encoder import load_encoder
        from core.models.task_evaluation import evaluate_rows
        from core.models.task_heads import load_task_heads

        encoder = load_encoder(settings)
        heads = load_task_heads(settings, encoder)
    models = () if args.skip_llm else tuple(m.strip() for m in args.models.split(","))

    def bar(total, desc):
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, file=sys.stderr, leave=False)

    report = evaluate(settings, Path(args.data), tasks=args.tasks, limit=args.limit, with_base=not args.no_base,
                      with_generation=not args.no_generate, log=lambda m: print(m, file=sys.stderr, flush=True),
                      on_progress=save, max_post_tokens=args.max_post_tokens,
                      base_generation=not args.no_base_generate, models=models,
                      cache_path=Path(args.cache) if args.cache else None, task_heads=heads, encoder=encoder,
                      task_head_limit=args.task_head_limit, progress_factory=bar,
                      task_head_evaluator=evaluate_rows)
    save(report)
    print(write_markdown(report))
    print(f"written to {out}")
    if args.record and heads is not None:
        import json

        from core.models.task_evaluation import record as record_heads

        llm_eval = {}
        llm_eval_path = Path(settings.llm_adapter) / "evaluation.json" if settings.llm_adapter else None
        if llm_eval_path is not None and llm_eval_path.is_file():
            llm_eval = json.loads(llm_eval_path.read_text(encoding="utf-8"))
        print(f"task heads recorded in {record_heads(report, heads, llm_eval)}")
    if args.record and models:
        from core.llm.imhi import record

        if not settings.llm_adapter or not Path(settings.llm_adapter).is_dir():
            print("error: --record needs a local adapter directory (llm_adapter)", file=sys.stderr)
            return 2
        print(f"recorded in {record(report, Path(settings.llm_adapter))}")
    return 0


def _read_table(path: Path):
    import pandas as pd


    if not path.exists():
        raise DataError(f"File not found: {path}")
    try:
        if path.suffix.lower() == ".jsonl":
            return pd.read_json(path, lines=True)
        return pd.read_csv(path)
    except ValueError as exc:
        raise DataError(f"{path}: cannot read it as {'JSONL' if path.suffix.lower() == '.jsonl' else 'CSV'}: {exc}") \
            from exc


def _write_table(df, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".jsonl":
        df.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        df.to_csv(path, index=False)


def parse_file(args, settings) -> int:

    names = resolve_tasks(args.task)
    df = _read_table(Path(args.file))
    if args.column not in df.columns:
        raise DataError(f"{args.file}: no column {args.column!r} (columns: {', '.join(map(str, df.columns))})")
    if len(names) > 1 and args.query_column not in df.columns:
        raise DataError(f"{args.task} asks {len(names)} questions ({', '.join(names)}): give one of them as --task, "
                        f"or a file with a {args.query_column!r} column holding each row's IMHI query")
    reader = None
    if not args.no_infer:
        try:
            reader = load_reader(Path(args.reader) if args.reader else Path(settings.reasoning_reader))
        except ReaderUnavailable as exc:
            print(f"warning: {exc}; labels are read only where the answer states them", file=sys.stderr)
    if len(names) > 1:
        tasks = [task_for_query(str(q), args.task).name for q in df[args.query_column]]
    else:
        tasks = names * len(df)
    parsed = [parse_response(t, text, reader=reader) for t, text in zip(tasks, df[args.column], strict=True)]
    if len(names) > 1:
        df["task"] = tasks
    for col in ("label", "label_source", "label_probability", "rationale", "parse_ok", "inferred_label",
                "inferred_probability", "note"):
        df[col] = [p[col] for p in parsed]
    if reader is not None:
        df["reader_version"] = reader.version
    _write_table(df, Path(args.output))
    ok = sum(p["parse_ok"] for p in parsed)
    inferred = sum(p["label_source"] == "inferred" for p in parsed)
    print(f"{ok}/{len(parsed)} answers parsed ({ok - inferred} stated, {inferred} inferred from the reasoning); "
          f"written to {args.output}")
    return 0


def _task_heads_for(settings, task: str):
    """(task heads, encoder) when a task head gives this task's label, else (None, None); a task-heads folder that
    does not fit the encoder is an error (named), not a silent fallback."""
    from core.models.task_heads import TASK_HEAD_DATASETS

    if task not in {t for tasks in TASK_HEAD_DATASETS.values() for t in tasks}:
        return None, None
    from core.models.encoder import load_encoder
    from core.models.task_heads import load_task_heads

    encoder = load_encoder(settings)
    try:
        heads = load_task_heads(settings, encoder)
    except TaskHeadsBackboneMismatch:
        raise
    except TaskHeadsUnavailable as exc:
        print(f"note: {exc}; labels come from the language model", file=sys.stderr)
        return None, None
    return (heads, encoder) if heads.has(task) else (None, None)


def analyze_file(args, settings) -> int:
    from tqdm import tqdm


    get_task(args.task)
    df = _read_table(Path(args.file))
    if args.column not in df.columns:
        raise DataError(f"{args.file}: no column {args.column!r} (columns: {', '.join(map(str, df.columns))})")
    heads, encoder = _task_heads_for(settings, args.task)
    llm = None
    if heads is None or not args.no_rationale:
        llm = llm_model.load_llm(settings)
    cols: dict[str, list] = {k: [] for k in ("label", "probability", "label_source", "label_model_version",
                                             "prompt_version", "llm_label", "rationale", "evidence", "notes")}
    for text in tqdm(df[args.column].fillna("").astype(str), desc="analyze", file=sys.stderr):
        if heads is None and args.no_rationale:
            from core.llm.answers import score_labels

            r = score_labels(llm, args.task, text)
            r.pop("_cache", None), r.pop("_last", None)
            r.update(rationale="", label_source="llm", label_model_version=r.get("model_version", ""))
        else:
            r = answer(llm, args.task, text, task_heads=heads, encoder=encoder)
        cols["label"].append(r["label"])
        cols["probability"].append(round(r["probabilities"][r["label"]], 4) if r.get("label") else None)
        cols["label_source"].append(r.get("label_source", ""))
        cols["label_model_version"].append(r.get("label_model_version", ""))
        cols["prompt_version"].append(r.get("prompt_version", ""))
        cols["llm_label"].append((r.get("llm") or {}).get("label") if r.get("label_source") == "task_head"
                                 else r.get("label"))
        cols["rationale"].append(r.get("rationale", ""))
        cols["evidence"].append(" | ".join(s["text"] for s in (r.get("faithful_evidence") or {}).get("sentences", [])))
        cols["notes"].append("; ".join(r.get("notes", []) + ([r["reliability"]["note"]] if (r.get("reliability") or {})
                                                               .get("note") else [])))
    for k, v in cols.items():
        df[k] = v
    df["model_version"] = llm.version if llm is not None else heads.version
    _write_table(df, Path(args.output))
    used = f"task heads {heads.version}" + (f" + {llm.version}" if llm is not None else "") if heads else llm.version
    print(f"{len(df)} texts analysed with {used}; written to {args.output}")
    return 0


def llm_info(args, settings) -> int:
    import json
    import time


    t = time.time()
    llm = llm_model.load_llm(settings)
    info = llm.describe()
    info["load_seconds"] = round(time.time() - t, 2)
    print(json.dumps(info, indent=2))
    return 0
