"""The "task head" column of ``evaluate-imhi``: the IMHI task heads on every row of each test file.

Per dataset: weighted F1 and accuracy of the head's label (the same metric as
the LLM columns), AUROC of the calibrated probability of "yes" for yes/no
tasks (rows of several questions pooled, as for the LLM's margin AUROC), and
the expected calibration error (10 bins, top label) before and after the
temperature. Recording writes ``evaluation.json`` into the task-heads version,
which then decides which task labels carry a "treat as unreliable" note.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from core.models.task_heads import top_label_ece

# A label source whose recorded AUROC is below this ranks posts too poorly to be trusted.
MIN_AUROC = 0.65


def evaluate_rows(heads, encoder, data: dict[str, list[dict]], report: dict, *, cache_dir: Path | None = None,
                  log=print, progress_factory=None) -> None:
    """Fill report["datasets"][name]["task_head"] for every dataset with rows of tasks the heads cover."""
    from core.models.task_heads import cached_note_embeddings

    report.setdefault("task_heads", {"version": heads.version, "model_id": heads.model_id})
    for name, rows in data.items():
        covered = [r for r in rows if heads.has(r["task"])]
        entry = report["datasets"].setdefault(name, {"n": len(rows), "tasks": sorted({r["task"] for r in rows})})
        if not covered:
            continue
        t0 = time.perf_counter()
        posts = sorted({r["post"] for r in covered})
        bar = progress_factory(0, f"task heads: {name}") if progress_factory else None

        def progress(done, total, bar=bar):
            if bar is not None:
                bar.total = total
                bar.update(done - bar.n)

        emb = cached_note_embeddings(encoder, posts, cache_dir, progress=progress)
        if bar is not None:
            bar.close()
        index = {p: i for i, p in enumerate(posts)}
        preds, gold, probs_after, probs_before, yes_prob, yes_gold, full = [], [], [], [], [], [], []
        for task in sorted({r["task"] for r in covered}):
            head = heads.heads[task]
            trows = [r for r in covered if r["task"] == task]
            x = emb[[index[r["post"]] for r in trows]]
            after = head.probabilities(x)
            before = head.probabilities(x, calibrated=False)
            for r, pa, pb in zip(trows, after, before, strict=True):
                preds.append(head.labels[int(pa.argmax())])
                gold.append(r["gold"])
                probs_after.append(pa.max())
                probs_before.append(pb.max())
                full.append(pa)
                if set(head.labels) == {"yes", "no"}:
                    yes_prob.append(float(pa[head.labels.index("yes")]))
                    yes_gold.append(r["gold"] == "yes")
        m = metrics(gold, preds)
        correct_pred = np.array([p == g for p, g in zip(preds, gold, strict=True)])
        m["ece_before"] = top_label_ece(np.array(probs_before), correct_pred)
        m["ece_after"] = top_label_ece(np.array(probs_after), correct_pred)
        from sklearn.metrics import roc_auc_score

        if yes_gold and len(yes_gold) == len(gold) and len(set(yes_gold)) == 2:
            m["auroc"] = float(roc_auc_score(yes_gold, yes_prob))
        elif len(full) == len(gold) and len({r["task"] for r in covered}) == 1:
            labels = heads.heads[covered[0]["task"]].labels
            seen = [i for i, lab in enumerate(labels) if lab in set(gold)]
            if len(seen) > 2:  # several labels: macro one-vs-rest AUROC over the labels present
                p = np.array(full)[:, seen]
                p = p / p.sum(1, keepdims=True)
                m["auroc"] = float(roc_auc_score([seen.index(labels.index(g)) for g in gold], p,
                                                 multi_class="ovr", average="macro"))
                m["auroc_kind"] = "macro one-vs-rest"
        m["n"] = len(covered)
        m["seconds_per_row"] = (time.perf_counter() - t0) / max(1, len(covered))
        majority = max(sorted(set(gold)), key=gold.count)  # ties: first label alphabetically
        m["majority"] = {**metrics(gold, [majority] * len(gold)), "label": majority}
        entry["task_head"] = m
        entry.setdefault("majority", m["majority"])
        log(f"task head {name}: wF1 {m['weighted_f1']:.3f} acc {m['accuracy']:.3f}"
            + (f" AUROC {m['auroc']:.3f}" if "auroc" in m else "")
            + f" ECE {m['ece_before']:.3f} -> {m['ece_after']:.3f} ({len(covered)} rows)")


def metrics(gold: list[str], pred: list[str]) -> dict:
    """Weighted F1 over the gold label set and accuracy (the metric of the LLM columns)."""
    from sklearn.metrics import accuracy_score, f1_score

    return {"weighted_f1": float(f1_score(gold, pred, labels=sorted(set(gold)), average="weighted",
                                          zero_division=0)),
            "accuracy": float(accuracy_score(gold, pred))}



def beats_both_baselines(entry: dict, llm_evaluation: dict | None = None) -> bool | None:
    """Task head weighted F1 above the majority class and above every recorded LLM column."""
    head = (entry.get("task_head") or {}).get("weighted_f1")
    if head is None:
        return None
    rivals = [(entry["task_head"].get("majority") or entry.get("majority") or {}).get("weighted_f1", 0.0)]
    for key in ("adapted_scored", "base_scored", "base_generated", "adapted_generated"):
        v = entry.get(key)
        if isinstance(v, dict):
            rivals.append(v.get("weighted_f1", 0.0))
        elif isinstance(v, (int, float)):
            rivals.append(float(v))
    for key in ("adapted_scored", "base_scored"):
        v = (llm_evaluation or {}).get(key)
        if isinstance(v, (int, float)):
            rivals.append(float(v))
    return head > max(rivals)


def record(report: dict, heads, llm_evaluation: dict | None = None) -> Path:
    """Write the task-head column into the loaded version's evaluation.json (not part of the weights' hash)."""
    from core.models.task_heads import EVALUATION_FILE

    datasets = {}
    for name, e in report["datasets"].items():
        th = e.get("task_head")
        if not th:
            continue
        llm = ((llm_evaluation or {}).get("datasets") or {}).get(name) or {}
        d = {"n": th["n"], "tasks": [t for t in e["tasks"] if heads.has(t)],
             "weighted_f1": round(th["weighted_f1"], 4), "accuracy": round(th["accuracy"], 4),
             "majority": round((th.get("majority") or e["majority"])["weighted_f1"], 4),
             "ece_before": round(th["ece_before"], 4), "ece_after": round(th["ece_after"], 4),
             "beats_both_baselines": beats_both_baselines(e, llm)}
        if "auroc" in th:
            d["auroc"] = round(th["auroc"], 4)
        if llm.get("adapted_scored") is not None:
            d["llm_adapted_scored"] = llm["adapted_scored"]
        datasets[name] = d
    out = {"created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "version": heads.version,
           "data_dir": report["data_dir"], "limit": report.get("limit"),
           "metric": "weighted F1 of the task head's label; AUROC of P(yes); ECE of the top label (10 bins)",
           "datasets": datasets}
    path = Path(heads.path) / EVALUATION_FILE
    path.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    heads.evaluation = out
    return path


def reliability_notes(evaluation: dict) -> dict[str, str]:
    """{task: sentence} for every task whose recorded task-head evaluation does not beat both baselines or ranks
    posts at AUROC below MIN_AUROC."""
    out = {}
    for name, d in (evaluation.get("datasets") or {}).items():
        reasons = []
        if d.get("beats_both_baselines") is False:
            reasons.append(f"scores weighted F1 {d['weighted_f1']:.2f}, not above the baselines "
                           f"(majority class {d['majority']:.2f}"
                           + (f"; language model {d['llm_adapted_scored']:.2f}" if "llm_adapted_scored" in d else "")
                           + ")")
        if d.get("auroc") is not None and d["auroc"] < MIN_AUROC:
            reasons.append(f"ranks posts at AUROC {d['auroc']:.2f} (below {MIN_AUROC})")
        if reasons:
            for task in d.get("tasks", []):
                out[task] = (f"On the IMHI {name} test set ({d.get('n')} texts) the task head "
                             + " and ".join(reasons) + ": treat its label as unreliable.")
    return out
