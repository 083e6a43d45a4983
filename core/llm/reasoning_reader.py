"""A second reader of MentaLLaMA-style answers: the label the reasoning argues for.

MentaLLaMA's answers often open with ``Reasoning:`` and never state a label.
``parse_response`` then returns no label (it never guesses). This module reads
what is there instead: one classifier per task over the reasoning text, trained
on the IMHI training answers (``<label sentence> Reasoning: <explanation>``) with
the label sentence removed and every restatement of it masked, so it learns
from the argument and not from a copied label.

Model: TF-IDF over word unigrams and bigrams (one vocabulary shared by all tasks,
sublinear term frequency, L2-normalised) and a logistic regression per task.
Training uses scikit-learn; reading needs only numpy: the vectoriser and the
weights are stored as JSON + ``.npz`` (no pickle), and the transform below
reproduces scikit-learn's exactly (a test checks it).

Files in a reader folder: ``reader.json`` (format, version, vocabulary, per-task
labels and metrics, training data digests) and ``weights.npz`` (idf, and per task
``coef_<task>`` / ``intercept_<task>``).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from core.errors import DataError, NoReaderForTask, ReaderUnavailable, ValidationError
from core.llm.parsing import parse_response
from core.llm.tasks import DATASET_TASKS, Task, get_task, task_for_query

FORMAT = "mhdash-reasoning-reader/1"
READER_FILE = "reader.json"
WEIGHTS_FILE = "weights.npz"
# scikit-learn's default token pattern (words of two or more characters)
_TOKEN_RE = re.compile(r"(?u)\b\w\w+\b")
# Fewer known words than this in the reasoning: nothing to infer from.
MIN_KNOWN_TOKENS = 3
MASK = " "

# Restatements of a label inside the reasoning ("... the assigned label for this post is Work",
# "This falls under the category of School", "classified as depression").
_RESTATED_RE = re.compile(
    r"(?:(?:assigned|appropriate|final|predicted|correct)\s+label\s+(?:for\s+this\s+post\s+)?(?:is|would be)"
    r"|falls?\s+(?:under|into|within)\s+the\s+(?:category|label)\s+of"
    r"|(?:categori[sz]ed|classified|labell?ed)\s+(?:as|under)"
    r"|(?:the\s+)?(?:category|label)\s+of)"
    r"[^.\n]*",
    re.IGNORECASE,
)


# ================================================================ masking
def _bodies(task: Task) -> list[str]:
    """Label sentences and their bodies without "Yes,"/"No,"/"This post shows", longest first."""
    out = set()
    for sentence in task.label_sentences.values():
        s = sentence.strip().rstrip(".")
        out.add(s)
        body = re.sub(r"^(?:yes|no)\s*,\s*", "", s, flags=re.IGNORECASE)
        out.add(body)
        out.add(re.sub(r"^this\s+post\s+shows\s+", "", body, flags=re.IGNORECASE))
    return sorted((b for b in out if len(b.split()) >= 2), key=len, reverse=True)


def mask_label_words(task: Task, text: str) -> str:
    """The reasoning with every restatement of a label sentence removed (case-insensitive)."""
    text = str(text or "")
    for body in _bodies(task):
        pattern = r"\b" + r"\s+".join(re.escape(w) for w in body.split()) + r"\b"
        text = re.sub(pattern, MASK, text, flags=re.IGNORECASE)
    text = _RESTATED_RE.sub(MASK, text)
    return re.sub(r"\s+", " ", text).strip()


# ================================================================ features (numpy only)
def _terms(text: str) -> list[str]:
    tokens = _TOKEN_RE.findall(text.lower())
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]


@dataclass
class ReasoningReader:
    """Per-task classifiers over masked reasoning text."""

    vocabulary: dict[str, int]
    idf: object  # numpy array (n_terms,)
    tasks: dict[str, dict]  # task -> {labels, coef (k, n_terms), intercept (k,), metrics}
    meta: dict = field(default_factory=dict)

    @property
    def version(self) -> str:
        return self.meta.get("version", "")

    def supports(self, task_name: str) -> bool:
        return task_name in self.tasks

    def features(self, text: str):
        """TF-IDF row (dense numpy) and how many of the text's terms the vocabulary knows."""
        import numpy as np

        counts: dict[int, int] = {}
        for term in _terms(text):
            j = self.vocabulary.get(term)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        row = np.zeros(len(self.vocabulary), dtype=np.float64)
        for j, c in counts.items():
            row[j] = (1.0 + math.log(c)) * self.idf[j]
        norm = float(np.linalg.norm(row))
        if norm > 0:
            row /= norm
        return row, sum(counts.values())

    def infer(self, task_name: str, reasoning: str) -> dict:
        """{label, probability, probabilities} for the reasoning text, or label None with a note.

        Raises NoReaderForTask when the reader has no classifier for the task."""
        import numpy as np

        if task_name not in self.tasks:
            raise NoReaderForTask(f"The reasoning reader {self.version} has no classifier for task {task_name!r} "
                                  f"(it reads: {', '.join(self.tasks)})")
        head = self.tasks[task_name]
        task = get_task(task_name)
        row, known = self.features(mask_label_words(task, reasoning))
        if known < MIN_KNOWN_TOKENS:
            return {"label": None, "probability": None, "probabilities": {},
                    "note": "too little reasoning text to infer a label from"}
        logits = head["coef"] @ row + head["intercept"]
        labels = head["labels"]
        if len(labels) == 2 and logits.shape[0] == 1:  # binary: one logit for labels[1]
            p1 = 1.0 / (1.0 + math.exp(-float(logits[0])))
            probs = [1.0 - p1, p1]
        else:
            z = np.exp(logits - logits.max())
            probs = (z / z.sum()).tolist()
        probabilities = {lab: round(float(p), 6) for lab, p in zip(labels, probs, strict=True)}
        label = max(probabilities, key=probabilities.get)
        return {"label": label, "probability": probabilities[label], "probabilities": probabilities, "note": None}

    def read_into(self, parsed: dict, task_name: str) -> None:
        """Complete a ``parse_response`` result: the inferred label where none is stated, and in every case
        what the reasoning argues for (``inferred_label``), so a disagreement with a stated label shows."""
        if not self.supports(task_name):
            if parsed["label"] is None:
                parsed["note"] = (f"no label sentence, and the reasoning reader {self.version} has no classifier "
                                  f"for task {task_name}")
            return
        inferred = self.infer(task_name, parsed["rationale"])
        parsed["inferred_label"], parsed["inferred_probability"] = inferred["label"], inferred["probability"]
        if parsed["label"] is None:
            if inferred["label"] is None:
                parsed["note"] = f"no label sentence; {inferred['note']}"
            else:
                parsed.update(label=inferred["label"], label_source="inferred",
                              label_probability=inferred["probability"])


# ================================================================ saving and loading
def _digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save_reader(reader: ReasoningReader, folder: Path) -> Path:
    """Write reader.json + weights.npz (written to a temporary name first, then moved in place)."""
    import numpy as np

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"idf": np.asarray(reader.idf, dtype=np.float32)}
    tasks_meta = {}
    for name, head in reader.tasks.items():
        arrays[f"coef_{name}"] = np.asarray(head["coef"], dtype=np.float32)
        arrays[f"intercept_{name}"] = np.asarray(head["intercept"], dtype=np.float32)
        tasks_meta[name] = {"labels": list(head["labels"]), "metrics": head.get("metrics", {})}
    tmp = folder / (WEIGHTS_FILE + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(folder / WEIGHTS_FILE)
    vocab = sorted(reader.vocabulary, key=reader.vocabulary.get)
    doc = {**reader.meta, "format": FORMAT, "weights_sha256": _digest(folder / WEIGHTS_FILE),
           "tasks": tasks_meta, "vocabulary": vocab}
    tmp_json = folder / (READER_FILE + ".tmp")
    tmp_json.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp_json.replace(folder / READER_FILE)
    return folder


def load_reader(folder: Path) -> ReasoningReader:
    """The reader saved in `folder`; ReaderUnavailable (named, with the fix) when it is absent or damaged."""
    import numpy as np

    folder = Path(folder)
    meta_path, weights_path = folder / READER_FILE, folder / WEIGHTS_FILE
    if not meta_path.exists() or not weights_path.exists():
        raise ReaderUnavailable(f"No reasoning reader in {folder}; train one with "
                                f"`python -m core train-parser --data <imhi train folder> --output {folder}`")
    try:
        doc = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReaderUnavailable(f"{meta_path} cannot be read: {exc}") from exc
    if doc.get("format") != FORMAT:
        raise ReaderUnavailable(f"{meta_path} is not a reasoning reader of format {FORMAT} "
                                f"(found {doc.get('format')!r})")
    if doc.get("weights_sha256") and doc["weights_sha256"] != _digest(weights_path):
        raise ReaderUnavailable(f"{weights_path} does not match {meta_path} (checksum differs); retrain the reader")
    try:
        with np.load(weights_path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise ReaderUnavailable(f"{weights_path} cannot be read: {exc}") from exc
    vocab = {term: i for i, term in enumerate(doc["vocabulary"])}
    idf = arrays["idf"].astype(np.float64)
    if idf.shape != (len(vocab),):
        raise ReaderUnavailable(f"{weights_path}: idf has {idf.shape} entries for {len(vocab)} terms")
    tasks = {}
    for name, info in doc["tasks"].items():
        coef = arrays[f"coef_{name}"].astype(np.float64)
        if coef.shape[1] != len(vocab):
            raise ReaderUnavailable(f"{weights_path}: weights of {name} do not fit the vocabulary")
        tasks[name] = {"labels": list(info["labels"]), "coef": coef,
                       "intercept": arrays[f"intercept_{name}"].astype(np.float64), "metrics": info.get("metrics", {})}
    meta = {k: v for k, v in doc.items() if k not in ("vocabulary", "tasks")}
    return ReasoningReader(vocab, idf, tasks, meta)


def load_configured_reader(settings) -> ReasoningReader:
    """The reader at ``settings.reasoning_reader``."""
    return load_reader(Path(settings.reasoning_reader))


# ================================================================ training
def read_training_answers(data_dir: Path) -> tuple[list[dict], list[dict]]:
    """Rows {task, label, reasoning} from every IMHI training CSV under `data_dir`, and the files read.

    The dataset is the CSV's folder name (``train/DR/train.csv``) or its stem (``DR.csv``);
    Irf and MultiWD files mix several questions, each row's task is read from its query."""
    import pandas as pd


    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"Training folder not found: {data_dir}")
    files = sorted(p for p in data_dir.rglob("*.csv"))
    rows, read = [], []
    for path in files:
        dataset = path.parent.name if path.parent != data_dir else path.stem
        if dataset.lower() not in DATASET_TASKS:
            continue
        df = pd.read_csv(path)
        answer_col = next((c for c in ("gpt-3.5-turbo", "answer") if c in df.columns), None)
        if "query" not in df.columns or answer_col is None:
            raise DataError(f"{path}: needs columns query and gpt-3.5-turbo (has {', '.join(map(str, df.columns))})")
        n = 0
        for query, answer in zip(df["query"].astype(str), df[answer_col], strict=False):
            try:
                task = task_for_query(query, dataset)
            except ValidationError:
                continue
            parsed = parse_response(task.name, answer)
            if parsed["label"] is None or not parsed["rationale"]:
                continue
            rows.append({"task": task.name, "label": parsed["label"],
                         "reasoning": mask_label_words(task, parsed["rationale"])})
            n += 1
        read.append({"file": str(path.relative_to(data_dir)), "rows": n, "sha256": _digest(path)})
    if not rows:
        raise DataError(f"No IMHI training answers (query + gpt-3.5-turbo) under {data_dir}")
    return rows, read


def train_reader(data_dir: Path, *, max_features: int = 20000, holdout: float = 0.15, seed: int = 0,
                 c_grid: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0), log=None) -> ReasoningReader:
    """Fit the shared TF-IDF vocabulary and one logistic regression per task.

    For each task a seeded, stratified hold-out of the training answers chooses the
    regularisation C (highest accuracy, then lowest log-loss); its scores are recorded;
    the final classifier is then fitted on all of that task's rows."""
    import numpy as np
    import sklearn
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score, log_loss
    from sklearn.model_selection import train_test_split
    from tqdm import tqdm

    log = log or (lambda m: None)
    rows, files = read_training_answers(data_dir)
    vectorizer = TfidfVectorizer(lowercase=True, token_pattern=_TOKEN_RE.pattern, ngram_range=(1, 2), min_df=2,
                                 max_features=max_features, sublinear_tf=True, norm="l2", smooth_idf=True,
                                 dtype=np.float64)
    X_all = vectorizer.fit_transform([r["reasoning"] for r in rows])
    by_task: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_task.setdefault(r["task"], []).append(i)
    heads = {}
    for name in tqdm(sorted(by_task), desc="train-parser", unit="task"):
        idx = np.array(by_task[name])
        y = np.array([rows[i]["label"] for i in idx])
        labels = [lab for lab in get_task(name).labels if lab in set(y)]
        if len(labels) < 2:
            log(f"{name}: only one label in the training answers; skipped")
            continue
        tr, ho = train_test_split(np.arange(len(idx)), test_size=holdout, random_state=seed, stratify=y)
        best = None
        for c in c_grid:
            m = LogisticRegression(C=c, max_iter=3000).fit(X_all[idx[tr]], y[tr])
            proba = m.predict_proba(X_all[idx[ho]])
            pred = m.classes_[proba.argmax(1)]
            score = (accuracy_score(y[ho], pred), -log_loss(y[ho], proba, labels=m.classes_))
            if best is None or score > best[0]:
                best = (score, c, f1_score(y[ho], pred, average="weighted"))
        (acc, neg_ll), c, f1 = best
        majority = max((y[ho] == lab).mean() for lab in labels)
        final = LogisticRegression(C=c, max_iter=3000).fit(X_all[idx], y)
        classes = list(final.classes_)
        # Keep sklearn's class order (its coef rows follow it); binary has one row for classes[1].
        heads[name] = {"labels": classes, "coef": final.coef_, "intercept": final.intercept_,
                       "metrics": {"rows": int(len(idx)), "holdout_rows": int(len(ho)), "C": c,
                                   "holdout_accuracy": round(float(acc), 4),
                                   "holdout_weighted_f1": round(float(f1), 4),
                                   "holdout_log_loss": round(float(-neg_ll), 4),
                                   "holdout_majority_accuracy": round(float(majority), 4),
                                   "label_counts": {lab: int((y == lab).sum()) for lab in labels}}}
        log(f"{name}: C={c} hold-out accuracy {acc:.3f} (majority {majority:.3f}), n={len(idx)}")
    vocab = {t: int(i) for t, i in vectorizer.vocabulary_.items()}
    now = datetime.now(UTC)
    body = json.dumps([files, sorted(vocab), max_features, seed], sort_keys=True).encode()
    meta = {"version": f"reasoning-reader-{now:%Y%m%d}-{hashlib.sha256(body).hexdigest()[:8]}",
            "created": now.isoformat(timespec="seconds"),
            "model": "TF-IDF (word 1-2 grams, sublinear tf, l2) + logistic regression per task",
            "max_features": max_features, "min_df": 2, "holdout": holdout, "seed": seed,
            "masking": "label sentence removed; restatements of label sentences and 'label is/category of ...' "
                       "phrases masked",
            "sklearn": sklearn.__version__, "training_files": files}
    return ReasoningReader(vocab, vectorizer.idf_.astype(np.float64), heads, meta)


__all__ = ["ReasoningReader", "ReaderUnavailable", "NoReaderForTask", "mask_label_words", "load_reader",
           "load_configured_reader", "save_reader", "train_reader", "read_training_answers"]
