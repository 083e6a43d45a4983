"""Training the IMHI task heads on the frozen encoder's note embeddings.

For each IMHI dataset folder (DR, dreaddit, SAD, Irf, MultiWD) the training rows
are every labelled training-side file it ships: ``train.csv`` and ``val.csv``
(DR, dreaddit and SAD ship both; Irf and MultiWD only ``val.csv``); test files are
never read here. Each row's question is read from its query and its gold label
from the gold answer (core/llm/imhi.py ``load_rows``), so the Irf and MultiWD
files give one head per question, each trained on its own rows (a post that
appears twice for the same question is kept once).

Per head: seeded, stratified ``FOLDS``-fold cross-validation over those rows.
For each regularisation strength in ``C_GRID`` (with and without balanced class
weights) a multinomial logistic regression on standardised embeddings is fitted
on four folds and scores the fifth, so every row gets an out-of-fold logit. The
lowest out-of-fold log-loss chooses the setting; the temperature is fitted on the
chosen setting's out-of-fold logits (every row, each scored by a model that did
not see it); then the head is refitted on all rows with the chosen setting. The
out-of-fold ECE (10 bins) is recorded before and after calibration. The
standardisation is folded into the stored weights.

Why not one 80/20 split: on 200-500 held-out rows the chosen C and above all the
temperature swing with the split, and the fitted head never sees a fifth of the
few labelled rows there are (recipes compared on IMHI's val.csv with heads fitted
on train.csv: bench/RESULTS.md, "IMHI task heads").

Note embeddings are cached on disk under ``<cache_dir>/task-embeddings`` keyed
by the backbone identity and every text, so a second run (or the evaluation)
does not run the backbone again.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np

from core.errors import DataError
from core.llm.imhi import load_rows
from core.llm.tasks import get_task
from core.models import registry
from core.models.task_heads import (
    TASK_HEAD_DATASETS,
    TaskHead,
    cached_note_embeddings,
    encoder_identity,
    expected_calibration_error,
    fit_temperature,
    save_version,
    softmax,
)

C_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
FOLDS = 5
TRAINING_FILES = ("train.csv", "val.csv")


def training_files(folder: Path) -> list[Path]:
    return [folder / name for name in TRAINING_FILES if (folder / name).is_file()]


def find_training_sets(data_dir: Path) -> list[tuple[str, list[Path]]]:
    """(dataset, [csv, ...]) for every task-head dataset folder under data_dir (its train.csv and val.csv)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"Training folder not found: {data_dir}")
    if data_dir.resolve().name.lower() == "test":
        raise DataError(f"{data_dir} is a test folder; task heads never train on test data")
    out = []
    for dataset in TASK_HEAD_DATASETS:
        folder = next((p for p in data_dir.iterdir() if p.is_dir() and p.name.lower() == dataset.lower()), None)
        paths = training_files(folder) if folder else []
        if paths:
            out.append((dataset, paths))
    if not out:
        raise DataError(f"No IMHI training folders ({', '.join(TASK_HEAD_DATASETS)}) with train.csv or val.csv "
                        f"under {data_dir}")
    return out


def _folds(y: np.ndarray, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Seeded folds, stratified when every label has at least two rows (fewer folds for rare labels)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    counts = np.bincount(y)
    smallest = int(counts[counts > 0].min())
    if smallest >= 2:
        splitter = StratifiedKFold(n_splits=min(FOLDS, smallest), shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(len(y)), y))
    return list(KFold(n_splits=FOLDS, shuffle=True, random_state=seed).split(np.zeros(len(y))))


def _fit(xs: np.ndarray, y: np.ndarray, k: int, c: float, weighting, seed: int, model=None):
    """(model, [k, hidden] weights, [k] bias) of one logistic regression on standardised rows (warm start)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    model = model or LogisticRegression(class_weight=weighting, max_iter=1000, random_state=seed, warm_start=True)
    model.set_params(C=c)
    # one BLAS thread: on a shared CPU, thread contention makes these small problems 10x slower
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(xs, y)
    return (model, *_full_weights(model, k, sorted(set(y.tolist()))))


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return x.mean(0), x.std(0) + 1e-6


def fit_head(task: str, labels: tuple[str, ...], x: np.ndarray, y: np.ndarray, seed: int) -> tuple[TaskHead, dict]:
    """Choose C and class weighting by out-of-fold log-loss, fit the temperature on the out-of-fold logits, refit
    on all rows; returns (head, metrics)."""
    from sklearn.metrics import f1_score, log_loss

    k = len(labels)
    folds = _folds(y, seed)
    oof = {(w, c): np.zeros((len(y), k)) for w in (None, "balanced") for c in C_GRID}
    for tr, ho in folds:
        mu, sd = _standardise(x[tr])
        xs_tr, xs_ho = (x[tr] - mu) / sd, (x[ho] - mu) / sd
        for weighting in (None, "balanced"):
            model = None  # warm-started along the C grid (ascending): each fit starts from the last
            for c in C_GRID:
                model, w, b = _fit(xs_tr, y[tr], k, c, weighting, seed, model)
                oof[(weighting, c)][ho] = xs_ho @ w.T + b
    trials = []
    for (weighting, c), z in oof.items():
        p = softmax(z)
        trials.append({"C": c, "class_weight": weighting or "none",
                       "oof_weighted_f1": float(f1_score(y, p.argmax(1), average="weighted", zero_division=0)),
                       "oof_log_loss": float(log_loss(y, np.clip(p, 1e-12, 1), labels=list(range(k))))})
    # the out-of-fold log-loss (a proper scoring rule over every row) chooses; F1 only breaks ties
    best = min(trials, key=lambda t: (round(t["oof_log_loss"], 4), -t["oof_weighted_f1"]))
    weighting = None if best["class_weight"] == "none" else best["class_weight"]
    z_oof = oof[(weighting, best["C"])]
    temperature = fit_temperature(z_oof, y)
    before, after = softmax(z_oof), softmax(z_oof / temperature)
    mu, sd = _standardise(x)
    _, w, b = _fit((x - mu) / sd, y, k, best["C"], weighting, seed)
    # fold the standardisation into the weights: w.(x - mu)/sd + b = (w/sd).x + (b - w.(mu/sd))
    head = TaskHead(task, labels, (w / sd).astype(np.float32), (b - w @ (mu / sd)).astype(np.float32),
                    float(temperature))
    metrics = {
        "labels": list(labels), "n": int(len(y)), "folds": len(folds),
        "label_counts": {labels[i]: int((y == i).sum()) for i in range(k)},
        "C": best["C"], "class_weight": best["class_weight"],
        "oof_weighted_f1": best["oof_weighted_f1"], "oof_accuracy": float((after.argmax(1) == y).mean()),
        "temperature": float(temperature),
        "oof_ece_before": expected_calibration_error(before, y),
        "oof_ece_after": expected_calibration_error(after, y),
        "grid": trials,
    }
    return head, metrics


def _full_weights(model, k: int, present: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """sklearn's coefficients as [k, hidden] softmax logits (binary models split the margin in two; labels
    absent from the training part get a very low logit)."""
    coef, inter = model.coef_, model.intercept_
    hidden = coef.shape[1]
    w = np.zeros((k, hidden))
    b = np.full(k, -30.0)
    if coef.shape[0] == 1:  # two classes: one margin for classes_[1]
        lo, hi = int(model.classes_[0]), int(model.classes_[1])
        w[hi], b[hi] = coef[0] / 2, inter[0] / 2
        w[lo], b[lo] = -coef[0] / 2, -inter[0] / 2
    else:
        for row, cls in enumerate(model.classes_):
            w[int(cls)], b[int(cls)] = coef[row], inter[row]
    return w, b


def train_task_heads(settings, data_dir: Path, output_dir: Path | None = None, *, seed: int = 0,
                     encoder=None, log=print, progress_factory=None) -> dict:
    """Train every task head found under data_dir; writes a new version and moves LATEST. Returns a summary."""
    from core.models.encoder import load_encoder

    output_dir = Path(output_dir or settings.task_heads_dir)
    sets = find_training_sets(Path(data_dir))
    encoder = encoder or load_encoder(settings)
    started = time.time()
    rows_by_task: dict[str, list[dict]] = {}
    sources = {}
    for dataset, paths in sets:
        seen: set[tuple[str, str]] = set()
        sources[dataset] = {"files": [f"{p.parent.name}/{p.name}" for p in paths], "rows": 0, "unreadable_gold": 0,
                            "duplicates": 0}
        for path in paths:
            rows, unreadable = load_rows(dataset, path, None)
            sources[dataset]["rows"] += len(rows)
            sources[dataset]["unreadable_gold"] += unreadable
            for r in rows:
                if r["task"] not in TASK_HEAD_DATASETS[dataset]:
                    continue
                if (r["task"], r["post"]) in seen:  # the same post for the same question in two files: once
                    sources[dataset]["duplicates"] += 1
                    continue
                seen.add((r["task"], r["post"]))
                rows_by_task.setdefault(r["task"], []).append({**r, "dataset": dataset})
            log(f"{dataset}: {len(rows)} rows from {path} ({unreadable} gold answers without a readable label "
                f"skipped)")
    posts = sorted({r["post"] for rows in rows_by_task.values() for r in rows})
    bar = progress_factory(0, f"embedding {len(posts)} posts (windows)") if progress_factory else None

    def progress(done, total):
        if bar is not None:
            bar.total = total
            bar.update(done - bar.n)

    emb = cached_note_embeddings(encoder, posts, Path(settings.cache_dir), progress=progress)
    if bar is not None:
        bar.close()
    index = {p: i for i, p in enumerate(posts)}
    heads, metrics = {}, {}
    for task, rows in rows_by_task.items():
        labels = get_task(task).labels
        y = np.array([labels.index(r["gold"]) for r in rows])
        if len(set(y.tolist())) < 2:
            log(f"{task}: only one label in the training rows; no head trained")
            continue
        x = emb[[index[r["post"]] for r in rows]]
        heads[task], metrics[task] = fit_head(task, labels, x, y, seed)
        metrics[task]["dataset"] = rows[0]["dataset"]
        m = metrics[task]
        log(f"{task}: out-of-fold wF1 {m['oof_weighted_f1']:.3f} (C {m['C']}, {m['class_weight']}), "
            f"ECE {m['oof_ece_before']:.3f} -> {m['oof_ece_after']:.3f} (T {m['temperature']:.2f})")
    if not heads:
        raise DataError(f"No task head could be trained from {data_dir}")
    output_dir.mkdir(parents=True, exist_ok=True)
    version = registry.new_version_name(output_dir)
    tmp = output_dir / f".tmp-{version}"
    identity = encoder_identity(encoder)
    extra = {"seed": seed, "folds": FOLDS, "c_grid": list(C_GRID),
             "classifier": "multinomial logistic regression on standardised note embeddings (weights folded), "
                           "softmax(logits / temperature); C, class weight and T chosen on out-of-fold logits, "
                           "then refitted on all rows",
             "note_embedding": "window-length-weighted mean of the pooled window embeddings",
             "training_data": sources, "encoder_heads_version": encoder.version}
    summary = {"version": version, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "seconds": round(time.time() - started, 1), "posts_embedded": len(posts), "heads": metrics,
               "training_data": sources, "backbone_id": identity["backbone_id"]}
    save_version(tmp, identity, heads, extra, summary)
    tmp.rename(output_dir / version)
    registry._write_pointer(output_dir, version, "train", f"train-task-heads from {data_dir}")
    return {"path": output_dir / version, "version": version, "metrics": summary}


def discard_version(output_dir: Path, version: str) -> None:
    shutil.rmtree(Path(output_dir) / version, ignore_errors=True)
