"""The emotion question asked of each sentence of a note, answered by label scoring (no generation).

The word-list emotion (core.clinical.indicators) names each sentence's dominant
emotion from a few words; this asks the language model the IMHI-style question
"What emotion does the poster mainly express?" of the same sentences and scores
the five answer sentences. torch is imported by the scoring code only.
"""

from __future__ import annotations

import time

from core.errors import ValidationError
from core.llm.answers import score_labels
from core.llm.tasks import get_task

TASK = "emotion"
MAX_SENTENCES = 60  # CPU time grows with each sentence (one prompt each); the rest of a long note is not read


def sentence_emotions(llm, text: str, sentences: list[tuple[int, int]], *, max_sentences: int = MAX_SENTENCES,
                      progress=None) -> dict:
    """{label, probabilities (length-weighted mean over the sentences read), sentences: [[start, end, label,
    probabilities]], notes, provenance} for the (start, end) character spans of ``text``."""

    task = get_task(TASK)
    spans = [(a, b) for a, b in sentences if text[a:b].strip()]
    if not spans:
        raise ValidationError("The note has no sentences to read")
    t0 = time.perf_counter()
    read = spans[:max_sentences]
    rows, notes = [], []
    for i, (a, b) in enumerate(read):
        r = score_labels(llm, TASK, text[a:b])
        r.pop("_cache", None)
        r.pop("_last", None)
        rows.append([a, b, r["label"], r["probabilities"]])
        notes += [n for n in r["notes"] if n not in notes]
        if progress:
            progress(i + 1, len(read))
    if len(spans) > len(read):
        notes.append(f"Only the first {len(read)} of {len(spans)} sentences were read by the model.")
    total = sum(b - a for a, b, _, _ in rows)
    probabilities = {label: round(sum(p[label] * (b - a) for a, b, _, p in rows) / total, 6) for label in task.labels}
    return {"task": TASK, "prompt_version": task.prompt_version, "model_id": llm.model_id,
            "model_version": llm.version, "adapter_hash": getattr(llm, "adapter_hash", ""),
            "label": max(probabilities, key=probabilities.get), "probabilities": probabilities, "sentences": rows,
            "notes": notes, "seconds": round(time.perf_counter() - t0, 3)}
