"""How well answers are read: MentaLLaMA's rule, our stated-only parse, and stated + inferred.

Input: CSV files of model answers with gold answers, as IMHI ships them
(``examples/DR_generated.csv``: columns ``goldens`` and ``generated_text``); the
dataset is the file stem before ``_generated``. The gold label is the label the
gold answer states. For each reading method: the share of rows given a label
(coverage) and the share of those labels that are right (accuracy), plus the
share of all rows read right.

* ``mentallama rule`` — text before ``Reasoning:``, keyword match, else the task's
  first label (always gives a label);
* ``stated only`` — ``parse_response`` without a reader (no label where none is stated);
* ``stated + inferred`` — ``parse_response`` with the reasoning reader.
"""

from __future__ import annotations

from pathlib import Path

from core.errors import DataError, ValidationError
from core.llm.imhi import find_datasets
from core.llm.parsing import label_as_paper, parse_response
from core.llm.tasks import get_task, resolve_tasks, task_for_query

METHODS = ("mentallama rule", "stated only", "stated + inferred")


def mentallama_rule(task_name: str, text) -> str:
    """MentaLLaMA's reading: the label named before ``Reasoning:``, else the task's first label."""

    return label_as_paper(task_name, text) or get_task(task_name).labels[0]


def _dataset_of(path: Path) -> str | None:
    stem = path.stem
    for suffix in ("_generated", "-generated"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    try:
        resolve_tasks(stem)
    except ValidationError:  # not an IMHI dataset name: not an answers file
        return None
    return stem


def _empty() -> dict:
    return {"n": 0, **{m: {"labelled": 0, "correct": 0} for m in METHODS}, "inferred": 0, "inferred_correct": 0,
            "stated": 0, "stated_correct": 0}


def evaluate_parser(data_dir: Path, reader) -> dict:
    """{datasets: {name: counts}, all: counts, files: [...]} over every answers CSV in `data_dir`."""
    import pandas as pd


    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"Examples folder not found: {data_dir}")
    report = {"datasets": {}, "all": _empty(), "files": [], "reader_version": reader.version if reader else None,
              "unreadable_gold": 0}
    for path in sorted(data_dir.glob("*.csv")):
        dataset = _dataset_of(path)
        if dataset is None:
            continue
        df = pd.read_csv(path)
        missing = {"goldens", "generated_text"} - set(df.columns)
        if missing:
            raise DataError(f"{path}: no column {', '.join(sorted(missing))} (columns: {', '.join(map(str, df.columns))})")
        names = resolve_tasks(dataset)
        if len(names) > 1 and "query" not in df.columns:
            raise DataError(f"{path}: {dataset} asks several questions; the file needs a query column")
        counts = report["datasets"].setdefault(dataset, _empty())
        for i, (gold_text, answer) in enumerate(zip(df["goldens"], df["generated_text"], strict=True)):
            task = names[0] if len(names) == 1 else task_for_query(str(df["query"][i]), dataset).name
            gold = parse_response(task, gold_text)["label"]
            if gold is None:
                report["unreadable_gold"] += 1
                continue
            preds = {"mentallama rule": mentallama_rule(task, answer),
                     "stated only": parse_response(task, answer)["label"]}
            full = parse_response(task, answer, reader=reader)
            preds["stated + inferred"] = full["label"]
            for c in (counts, report["all"]):
                c["n"] += 1
                for m, label in preds.items():
                    c[m]["labelled"] += label is not None
                    c[m]["correct"] += label is not None and label == gold
                if full["label_source"] == "inferred":
                    c["inferred"] += 1
                    c["inferred_correct"] += full["label"] == gold
                elif full["label_source"] == "stated":  # the answer's own label: right or wrong, it is read as is
                    c["stated"] += 1
                    c["stated_correct"] += full["label"] == gold
        report["files"].append(path.name)
    if not report["files"]:
        raise DataError(f"No answers CSV (e.g. DR_generated.csv with goldens, generated_text) under {data_dir}")
    return report


def _cell(c: dict, n: int) -> str:
    cov = c["labelled"] / n if n else 0.0
    acc = c["correct"] / c["labelled"] if c["labelled"] else 0.0
    return f"{cov:.1%} / {acc:.1%} / {c['correct'] / n if n else 0.0:.1%}"


def write_markdown(report: dict) -> str:
    lines = ["Each cell: rows given a label / accuracy of those labels / rows read right (of all rows). "
             "Stated and inferred: rows (right against the gold label). Ceiling: the share of rows a parse that "
             "keeps every stated label can get right (all rows but those whose stated label is wrong).", "",
             "| data | n | " + " | ".join(METHODS) + " | stated (right) | inferred (right) | ceiling |",
             "|---|---|" + "---|" * len(METHODS) + "---|---|---|"]
    for name, c in [*report["datasets"].items(), ("all", report["all"])]:
        cells = " | ".join(_cell(c[m], c["n"]) for m in METHODS)
        lines.append(f"| {name} | {c['n']} | {cells} | {c['stated']} ({c['stated_correct']}) | "
                     f"{c['inferred']} ({c['inferred_correct']}) | {ceiling(c):.1%} |")
    lines += ["", f"Reader: {report['reader_version'] or 'none'}; files: {', '.join(report['files'])}"
              + (f"; {report['unreadable_gold']} rows skipped (gold answer states no label)"
                 if report["unreadable_gold"] else "")]
    return "\n".join(lines) + "\n"


def ceiling(counts: dict) -> float:
    """Best accuracy over all rows for a parse that keeps every stated label: a stated wrong label stays wrong."""
    return (counts["n"] - (counts["stated"] - counts["stated_correct"])) / counts["n"] if counts["n"] else 0.0


def meets_target(report: dict, coverage: float = 0.95, accuracy: float = 0.85) -> bool:
    c = report["all"]["stated + inferred"]
    n = report["all"]["n"]
    return bool(n) and c["labelled"] / n >= coverage and c["correct"] / max(c["labelled"], 1) >= accuracy


def evaluate_reader_on_answers(data_dir: Path, reader) -> dict:
    """The reader alone on gold IMHI answers (``query`` + ``gpt-3.5-turbo`` CSVs named by dataset): the label
    sentence is removed and restatements masked, as in training; per task rows, accuracy and majority share."""
    import pandas as pd

    from core.llm.parsing import parse_response

    out: dict[str, dict] = {}
    for dataset, path in find_datasets(Path(data_dir)):
        df = pd.read_csv(path)
        if "query" not in df.columns or "gpt-3.5-turbo" not in df.columns:
            raise DataError(f"{path}: needs columns query and gpt-3.5-turbo")
        for query, answer in zip(df["query"].astype(str), df["gpt-3.5-turbo"], strict=True):
            try:
                task = task_for_query(query, dataset).name
            except ValidationError:
                continue
            gold = parse_response(task, answer)
            if gold["label"] is None or not reader.supports(task):
                continue
            pred = reader.infer(task, gold["rationale"])["label"]
            c = out.setdefault(task, {"dataset": dataset, "n": 0, "correct": 0, "labelled": 0, "gold": {}})
            c["n"] += 1
            c["labelled"] += pred is not None
            c["correct"] += pred == gold["label"]
            c["gold"][gold["label"]] = c["gold"].get(gold["label"], 0) + 1
    if not out:
        raise DataError(f"No gold answers for the reader's tasks under {data_dir}")
    return out


def answers_markdown(result: dict) -> str:
    lines = ["| task | dataset | n | reader accuracy | majority class |", "|---|---|---|---|---|"]
    for task, c in result.items():
        lines.append(f"| {task} | {c['dataset']} | {c['n']} | {c['correct'] / c['n']:.3f} | "
                     f"{max(c['gold'].values()) / c['n']:.3f} |")
    return "\n".join(lines) + "\n"
