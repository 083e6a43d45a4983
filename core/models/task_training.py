"""Training the IMHI task heads on the frozen encoder's note embeddings.

For each IMHI dataset folder (DR, dreaddit, SAD, Irf, MultiWD) the training
file is ``train.csv`` where present, ``val.csv`` otherwise; test files are
never read here. Each row's question is read from its query and its gold label
from the gold answer (core/llm/imhi.py ``load_rows``), so the Irf and MultiWD
files give one head per question, each trained on its own rows.

Per head: a seeded, stratified 80/20 split of the posts; a multinomial logistic
regression on standardised embeddings for each regularisation strength in
``C_GRID`` (and with / without balanced class weights) fitted on the 80 %;
the held-out 20 % chooses the setting (lowest log-loss) and then fits the
temperature. The held-out ECE (10 bins) is recorded before and after
calibration. The standardisation is folded into the stored weights.

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
HELDOUT_FRACTION = 0.2


def training_file(folder: Path) -> Path | None:
    for name in ("train.csv", "val.csv"):
        if (folder / name).is_file():
            return folder / name
    return None


def find_training_sets(data_dir: Path) -> list[tuple[str, Path]]:
    """(dataset, csv) for every task-head dataset folder under data_dir (train.csv, else val.csv)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"Training folder not found: {data_dir}")
    if data_dir.resolve().name.lower() == "test":
        raise DataError(f"{data_dir} is a test folder; task heads never train on test data")
    out = []
    for dataset in TASK_HEAD_DATASETS:
        folder = next((p for p in data_dir.iterdir() if p.is_dir() and p.name.lower() == dataset.lower()), None)
        path = training_file(folder) if folder else None
        if path is not None:
            out.append((dataset, path))
    if not out:
        raise DataError(f"No IMHI training folders ({', '.join(TASK_HEAD_DATASETS)}) with train.csv or val.csv "
                        f"under {data_dir}")
    return out


def _split(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    counts = np.bincount(y)
    stratify = y if counts[counts > 0].min() >= 2 else None
    tr, ho = train_test_split(idx, test_size=HELDOUT_FRACTION, random_state=seed, stratify=stratify)
    return np.sort(tr), np.sort(ho)


def fit_head(task: str, labels: tuple[str, ...], x: np.ndarray, y: np.ndarray, seed: int) -> tuple[TaskHead, dict]:
    """Choose C and class weighting on the held-out split, fit the temperature there; returns (head, metrics)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score, log_loss
    from threadpoolctl import threadpool_limits

    k = len(labels)
    tr, ho = _split(y, seed)
    mu, sd = x[tr].mean(0), x[tr].std(0) + 1e-6
    xs = (x - mu) / sd
    present = sorted(set(y[tr].tolist()))
    trials = []
    for weighting in (None, "balanced"):
        # one model per weighting, warm-started along the C grid (ascending): each fit starts from the last
        model = LogisticRegression(class_weight=weighting, max_iter=1000, random_state=seed, warm_start=True)
        for c in C_GRID:
            model.set_params(C=c)
            # one BLAS thread: on a shared CPU, thread contention makes these small problems 10x slower
            with warnings.catch_warnings(), threadpool_limits(1):
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(xs[tr], y[tr])
            w, b = _full_weights(model, k, present)
            p = softmax(xs[ho] @ w.T + b)
            f1 = f1_score(y[ho], p.argmax(1), labels=sorted(set(y[ho].tolist())), average="weighted",
                          zero_division=0)
            trials.append({"C": c, "class_weight": weighting or "none", "heldout_weighted_f1": float(f1),
                           "heldout_log_loss": float(log_loss(y[ho], np.clip(p, 1e-12, 1), labels=list(range(k)))),
                           "_w": w, "_b": b})
    # the held-out log-loss (a proper scoring rule) chooses: on a few hundred rows it is far steadier than F1
    best = min(trials, key=lambda t: (round(t["heldout_log_loss"], 4), -t["heldout_weighted_f1"]))
    w, b = best["_w"], best["_b"]
    z_ho = xs[ho] @ w.T + b
    temperature = fit_temperature(z_ho, y[ho])
    before = softmax(z_ho)
    after = softmax(z_ho / temperature)
    # fold the standardisation into the weights: w.(x - mu)/sd + b = (w/sd).x + (b - w.(mu/sd))
    weight = w / sd
    bias = b - w @ (mu / sd)
    head = TaskHead(task, labels, weight.astype(np.float32), bias.astype(np.float32), float(temperature))
    counts = {labels[i]: int((y == i).sum()) for i in range(k)}
    metrics = {
        "labels": list(labels), "n": int(len(y)), "n_train": int(len(tr)), "n_heldout": int(len(ho)),
        "label_counts": counts, "C": best["C"], "class_weight": best["class_weight"],
        "heldout_weighted_f1": best["heldout_weighted_f1"],
        "heldout_accuracy": float((after.argmax(1) == y[ho]).mean()),
        "temperature": float(temperature),
        "heldout_ece_before": expected_calibration_error(before, y[ho]),
        "heldout_ece_after": expected_calibration_error(after, y[ho]),
        "grid": [{k2: v for k2, v in t.items() if not k2.startswith("_")} for t in trials],
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
    from core.llm.imhi import load_rows
    from core.llm.tasks import get_task
    from core.models import registry
    from core.models.encoder import load_encoder

    output_dir = Path(output_dir or settings.task_heads_dir)
    sets = find_training_sets(Path(data_dir))
    encoder = encoder or load_encoder(settings)
    started = time.time()
    rows_by_task: dict[str, list[dict]] = {}
    sources = {}
    for dataset, path in sets:
        rows, unreadable = load_rows(dataset, path, None)
        sources[dataset] = {"file": f"{path.parent.name}/{path.name}", "rows": len(rows),
                            "unreadable_gold": unreadable}
        for r in rows:
            if r["task"] in TASK_HEAD_DATASETS[dataset]:
                rows_by_task.setdefault(r["task"], []).append({**r, "dataset": dataset})
        log(f"{dataset}: {len(rows)} rows from {path} ({unreadable} gold answers without a readable label skipped)")
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
        log(f"{task}: held-out wF1 {m['heldout_weighted_f1']:.3f} (C {m['C']}, {m['class_weight']}), "
            f"ECE {m['heldout_ece_before']:.3f} -> {m['heldout_ece_after']:.3f} (T {m['temperature']:.2f})")
    if not heads:
        raise DataError(f"No task head could be trained from {data_dir}")
    output_dir.mkdir(parents=True, exist_ok=True)
    version = registry.new_version_name(output_dir)
    tmp = output_dir / f".tmp-{version}"
    identity = encoder_identity(encoder)
    extra = {"seed": seed, "heldout_fraction": HELDOUT_FRACTION, "c_grid": list(C_GRID),
             "classifier": "multinomial logistic regression on standardised note embeddings (weights folded), "
                           "softmax(logits / temperature)",
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
