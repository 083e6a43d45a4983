"""IMHI evaluation: weighted F1 and accuracy per dataset, MentaLLaMA's way and ours.

For every row the gold label comes from parsing the gold answer. Two predictions
are made per model from one shared prompt pass:

* ``generated`` — the paper's protocol: generate the answer greedily and read the
  label from the text before ``Reasoning:`` (an unreadable answer counts as wrong);
* ``scored`` — our label scoring (likelihood of each label sentence).

Beside them: the majority-class baseline (majority of the evaluated gold labels,
i.e. the strongest constant predictor on that sample) and the base model without
the adapter.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

from core.errors import DataError, ValidationError
from core.llm import answers, parsing
from core.llm import model as llm_model
from core.llm.model import EVALUATION_FILE
from core.llm.parsing import parse_response
from core.llm.tasks import DATASET_TASKS, REASONING, TASKS, get_task, split_query, task_for_query

NO_LABEL = "(no label)"
GENERATION_TOKENS = 24  # enough for any label sentence and "Reasoning:"
PREDICTION_FORMAT = 2  # bump when predict() changes what it returns (invalidates cached predictions)


def find_datasets(data_dir: Path, only: list[str] | None = None) -> list[tuple[str, Path]]:
    """(dataset, csv path) for IMHI CSV files named by dataset, optionally filtered by dataset or task name."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"Evaluation folder not found: {data_dir}")
    wanted = {w.lower() for w in only} if only else None
    out = []
    for path in sorted(data_dir.glob("*.csv")):
        key = path.stem.lower()
        if key not in DATASET_TASKS:
            continue
        if wanted and key not in wanted and not wanted & set(DATASET_TASKS[key]):
            continue
        out.append((path.stem, path))
    if not out:
        raise DataError(f"No IMHI CSV files (DR.csv, dreaddit.csv, SAD.csv, ...) under {data_dir}"
                        + (f" for {', '.join(only)}" if only else ""))
    return out


def load_rows(dataset: str, path: Path, limit: int | None, seed: int = 0) -> tuple[list[dict], int]:
    """Rows {task, post, gold} (a seeded random sample of `limit`), and how many gold answers had no label."""
    import pandas as pd


    df = pd.read_csv(path)
    answer_col = next((c for c in ("gpt-3.5-turbo", "answer", "goldens") if c in df.columns), None)
    if "query" not in df.columns or answer_col is None:
        raise DataError(f"{path}: needs columns query and gpt-3.5-turbo (has {', '.join(df.columns)})")
    rows, unreadable = [], 0
    for query, answer in zip(df["query"].astype(str), df[answer_col], strict=False):
        try:
            task = task_for_query(query, dataset)
        except ValidationError:
            unreadable += 1
            continue
        gold = parse_response(task.name, answer)["label"]
        if gold is None:
            unreadable += 1
            continue
        rows.append({"task": task.name, "post": split_query(query)[0], "gold": gold})
    if limit and limit < len(rows):
        rows = random.Random(seed).sample(rows, limit)
    return rows, unreadable


def cut_post(llm, post: str, max_tokens: int | None) -> str:
    """The post's first `max_tokens` tokens (evaluation may read posts as short as the training examples)."""
    if not max_tokens:
        return post
    ids = llm.tokenizer(post, add_special_tokens=False)["input_ids"]
    return post if len(ids) <= max_tokens else llm.tokenizer.decode(ids[:max_tokens])


def predict(llm, task_name: str, post: str, with_generation: bool) -> dict:
    """Scored label, and (optionally) the paper-style generated label, from one prompt pass."""

    task = get_task(task_name)
    t0 = time.perf_counter()
    ids, cache, last, _, _ = answers._prefill(llm, task, post)
    raw = answers._score_sentences(llm, cache, last, len(ids), list(task.label_sentences.values()))
    scores = answers.corrected_scores(llm, task, raw)
    scored = task.labels[max(range(len(scores)), key=scores.__getitem__)]
    t1 = time.perf_counter()
    out = {"scored": scored, "scored_raw": task.labels[max(range(len(raw)), key=raw.__getitem__)],
           "raw_scores": raw, "score_seconds": t1 - t0}
    if with_generation:
        text, _, _ = answers._greedy(llm, cache, last, max_new_tokens=GENERATION_TOKENS, stop=(REASONING,))
        out["generated"] = parsing.label_as_paper(task_name, text) or NO_LABEL
        out["generated_text"] = text
        out["generate_seconds"] = time.perf_counter() - t0  # includes the shared prompt pass
    return out


def _pred_key(version: str, task: str, post: str, with_generation: bool) -> str:
    import hashlib

    raw = json.dumps([version, task, post, with_generation, GENERATION_TOKENS, PREDICTION_FORMAT])
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def _load_cache(path: Path | None) -> dict:
    """Predictions from earlier runs (JSON lines {key, pred}), so a stopped evaluation resumes."""
    out: dict = {}
    if path and Path(path).exists():
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash
            out[obj["key"]] = obj["pred"]
    return out


def _append_cache(path: Path | None, key: str, pred: dict) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"key": key, "pred": pred}) + "\n")


def metrics(gold: list[str], pred: list[str]) -> dict:
    """Weighted F1 (over the gold label set, as MentaLLaMA reports) and accuracy."""
    from sklearn.metrics import accuracy_score, f1_score

    labels = sorted(set(gold))
    return {"weighted_f1": float(f1_score(gold, pred, labels=labels, average="weighted", zero_division=0)),
            "accuracy": float(accuracy_score(gold, pred))}


def evaluate(settings, data_dir: Path, *, tasks: list[str] | None = None, limit: int | None = None,
             with_base: bool = True, with_generation: bool = True, log=print, seed: int = 0,
             on_progress=None, base_generation: bool = True, max_post_tokens: int | None = None,
             models: tuple[str, ...] = ("adapted", "base"), cache_path: Path | None = None,
             task_heads=None, encoder=None, task_head_limit: int | None = None, progress_factory=None,
             task_head_evaluator=None) -> dict:
    """Evaluate the configured model (and its base without the adapter); `on_progress(report)` after each dataset.

    With `task_heads` (and their `encoder`), the "task head" column is computed first on every row of each file
    (or `task_head_limit` rows), whatever `limit` the LLM columns use; `models=()` skips the LLM columns.
    `task_head_evaluator` is ``core.models.task_evaluation.evaluate_rows``, passed in by the caller because the
    task heads sit above the language model in the layering (they read IMHI tasks, not the other way round).
    """

    datasets = find_datasets(data_dir, tasks)
    data = {}
    report: dict = {"datasets": {}, "models": {}, "limit": limit, "data_dir": str(data_dir),
                    "max_post_tokens": max_post_tokens}
    all_rows = {}
    for name, path in datasets:
        rows, unreadable = load_rows(name, path, limit, seed)
        data[name] = rows
        log(f"{name}: {len(rows)} rows ({unreadable} gold answers without a readable label skipped)")
        if task_heads is not None:
            all_rows[name] = rows if limit == task_head_limit else load_rows(name, path, task_head_limit, seed)[0]
    if task_heads is not None:
        if task_head_evaluator is None:
            raise ValueError("task_heads given without task_head_evaluator (core.models.task_evaluation.evaluate_rows)")
        report["task_head_limit"] = task_head_limit
        task_head_evaluator(task_heads, encoder, all_rows, report, cache_dir=Path(settings.cache_dir), log=log,
                      progress_factory=progress_factory)
        if on_progress is not None:
            on_progress(report)
    chosen = [("adapted", None)] + ([("base", "")] if with_base and settings.llm_adapter else [])
    chosen = [m for m in chosen if m[0] in models]
    cache = _load_cache(cache_path)
    for model_name, adapter in chosen:
        generate = with_generation and (base_generation or model_name != "base")
        llm = llm_model.load_llm(settings, adapter=adapter)  # through the module: patchable, never stale
        report["models"][model_name] = llm.version
        trained = llm.trained_tasks
        for name, rows in data.items():
            entry = report["datasets"].setdefault(name, {"n": len(rows), "tasks": sorted({r["task"] for r in rows})})
            if trained is not None and model_name == "adapted":
                entry["trained"] = bool(set(entry["tasks"]) & trained)
            preds = []
            t0 = time.perf_counter()
            for i, r in enumerate(rows):
                post = cut_post(llm, r["post"], max_post_tokens)
                key = _pred_key(llm.version, r["task"], post, generate)
                richer = _pred_key(llm.version, r["task"], post, True)
                if key not in cache and richer in cache:  # a run with generation also scored the label
                    cache[key] = cache[richer]
                if key not in cache:
                    cache[key] = predict(llm, r["task"], post, generate)
                    _append_cache(cache_path, key, cache[key])
                preds.append(cache[key])
                if (i + 1) % 25 == 0:
                    log(f"  {model_name} {name}: {i + 1}/{len(rows)} ({time.perf_counter() - t0:.0f}s)")
            gold = [r["gold"] for r in rows]
            entry[f"{model_name}_scored"] = metrics(gold, [p["scored"] for p in preds])
            if all("scored_raw" in p for p in preds):
                entry[f"{model_name}_scored_raw"] = metrics(gold, [p["scored_raw"] for p in preds])
            if generate:
                gen = [p["generated"] for p in preds]
                entry[f"{model_name}_generated"] = metrics(gold, gen)
                entry[f"{model_name}_generated"]["parse_rate"] = sum(g != NO_LABEL for g in gen) / max(1, len(gen))
                entry[f"{model_name}_agreement"] = sum(
                    p["scored"] == p["generated"] for p in preds) / max(1, len(preds))
            entry[f"{model_name}_seconds_per_row"] = (time.perf_counter() - t0) / max(1, len(rows))
            margin = margin_auroc(rows, preds)
            if margin is not None:
                entry[f"{model_name}_margin_auroc"] = margin
            majority = max(sorted(set(gold)), key=gold.count)  # ties: first label alphabetically
            entry["majority"] = metrics(gold, [majority] * len(gold))
            entry["majority"]["label"] = majority
            log(f"{model_name} {name}: scored wF1 {entry[f'{model_name}_scored']['weighted_f1']:.3f}")
            if on_progress is not None:
                on_progress(report)
        del llm
    return report


def margin_auroc(rows: list[dict], preds: list[dict]) -> float | None:
    """For yes/no tasks: AUROC of the raw score margin (yes minus no) against the gold label. It says whether the
    model ranks the posts at all, whatever its threshold; 0.5 is no better than chance. None for other tasks."""
    from sklearn.metrics import roc_auc_score

    y, margin = [], []
    for r, p in zip(rows, preds, strict=True):
        labels = get_task(r["task"]).labels
        if set(labels) != {"yes", "no"} or "raw_scores" not in p:
            return None
        raw = dict(zip(labels, p["raw_scores"], strict=True))
        y.append(r["gold"] == "yes")
        margin.append(raw["yes"] - raw["no"])
    return float(roc_auc_score(y, margin)) if len(set(y)) == 2 else None


def beats_both_baselines(entry: dict) -> bool | None:
    """Adapted weighted F1 (scored) above the majority class and above every base-model column."""
    adapted = (entry.get("adapted_scored") or {}).get("weighted_f1")
    if adapted is None:
        return None
    best = max((entry.get(k) or {}).get("weighted_f1", 0.0) for k in ("majority", "base_scored", "base_generated"))
    return adapted > best


def record(report: dict, adapter_dir: Path) -> Path:
    """Write the evaluation beside the adapter (``evaluation.json``), so every answer of a task it did not
    learn well says so. Not part of the adapter's hash: recording never changes the model version."""

    datasets = {}
    for name, e in report["datasets"].items():
        d = {"n": e["n"], "tasks": e["tasks"], "trained": e.get("trained"),
             "beats_both_baselines": beats_both_baselines(e)}
        for key in ("adapted_scored", "majority", "base_scored", "base_generated", "adapted_generated"):
            if e.get(key):
                d[key] = round(e[key]["weighted_f1"], 4)
        for key in ("adapted_margin_auroc", "base_margin_auroc"):
            if key in e:
                d[key] = round(e[key], 4)
        datasets[name] = d
    out = {"created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "models": report["models"],
           "data_dir": report["data_dir"], "limit": report["limit"], "max_post_tokens": report["max_post_tokens"],
           "metric": "weighted F1 of the scored label", "datasets": datasets}
    path = Path(adapter_dir) / EVALUATION_FILE
    path.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return path


def _cell(m: dict | None) -> str:
    if not m:
        return "—"
    return f"{m['weighted_f1']:.3f} / {m['accuracy']:.3f}"


def write_markdown(report: dict) -> str:
    models = report["models"]
    limit = report.get("limit")
    sample = "all rows" if not limit else f"seeded sample of up to {limit} rows"
    lines = [
        f"IMHI evaluation ({sample} per dataset from {report['data_dir']}"
        + (f"; posts cut to their first {report['max_post_tokens']} tokens" if report.get("max_post_tokens") else "")
        + "). Cells: weighted F1 / accuracy.",
        "",
        "Models: " + "; ".join(f"{k} = `{v}`" for k, v in models.items()),
        "",
        "| dataset | n | trained on | majority class | task head | base, generated (paper) | base, scored | "
        "adapted, generated (paper) | adapted, scored (no prior correction) | adapted, scored | "
        "adapted label parse rate | margin AUROC adapted / base | beats both baselines (scored) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    if not models:
        lines = lines[:1] + ["", "Language-model columns skipped (--skip-llm)."]
    for name, e in report["datasets"].items() if models else ():
        b = beats_both_baselines(e)
        beats = "—" if b is None else ("yes" if b else "no")
        auroc = " / ".join("—" if e.get(k) is None else f"{e[k]:.2f}" for k in ("adapted_margin_auroc",
                                                                                  "base_margin_auroc"))
        parse_rate = e.get("adapted_generated", {}).get("parse_rate")
        lines.append(
            f"| {name} | {e['n']} | {'yes' if e.get('trained') else 'no'} | {_cell(e.get('majority'))} "
            f"| {_cell(e.get('task_head'))}{'' if not e.get('task_head') or e['task_head']['n'] == e['n'] else ' (' + str(e['task_head']['n']) + ' rows)'} "
            f"| {_cell(e.get('base_generated'))} | {_cell(e.get('base_scored'))} "
            f"| {_cell(e.get('adapted_generated'))} | {_cell(e.get('adapted_scored_raw'))} "
            f"| {_cell(e.get('adapted_scored'))} "
            f"| {'—' if parse_rate is None else f'{parse_rate:.2f}'} | {auroc} | {beats} |"
        )
    heads = report.get("task_heads")
    if heads:
        th_limit = report.get("task_head_limit")
        lines += ["", f"Task heads `{heads['version']}` ({'all rows' if not th_limit else f'up to {th_limit} rows'} "
                  "of each file). Cells: weighted F1 / accuracy; AUROC of P(yes) for yes/no tasks; ECE of the top "
                  "label (10 bins) before / after the temperature.", "",
                  "| dataset | rows | majority class | task head | AUROC | ECE before | ECE after |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for name, e in report["datasets"].items():
            th = e.get("task_head")
            if not th:
                continue
            auroc = f"{th['auroc']:.3f}" if "auroc" in th else "—"
            lines.append(f"| {name} | {th['n']} | {_cell(th.get('majority'))} | {_cell(th)} | {auroc} "
                         f"| {th['ece_before']:.3f} | {th['ece_after']:.3f} |")
    return "\n".join(lines) + "\n"


__all__ = ["evaluate", "write_markdown", "metrics", "find_datasets", "load_rows", "predict", "record",
           "beats_both_baselines", "margin_auroc", "TASKS"]
