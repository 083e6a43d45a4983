"""What a task head's label rests on: occlusion, faithful by construction.

Each sentence of the note is deleted in turn and the note re-scored (one batched pass over the variants); the
sentences whose deletion lowers the probability of the chosen label most are the evidence shown first.
"""

from __future__ import annotations

import re

import numpy as np

from core.models.task_heads import EVIDENCE_TOP, TaskHeads, reading_text
from core.models.windows import WINDOW_OVERLAP, window_content, wrap

# A sentence of fewer words than this ("Session 1.", "Plan:") says nothing a label should turn on.
FRAGMENT_WORDS = 4


def _token_spans(encoder, text: str) -> tuple[list[int], list[tuple[int, int]]]:
    enc = encoder.tokenizer(text, add_special_tokens=False, truncation=False, return_offsets_mapping=True,
                            verbose=False)
    return list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]


def _window_starts(encoder, n_ids: int) -> tuple[list[int], int]:

    content = window_content(encoder.tokenizer, encoder.max_length)
    step = max(1, int(content * (1 - WINDOW_OVERLAP)))
    starts = [0]
    while starts[-1] + content < n_ids:
        starts.append(starts[-1] + step)
    return starts, content


def occlusion(heads: TaskHeads, encoder, text: str, task: str, label: str | None = None, *,
              top: int | None = EVIDENCE_TOP) -> dict:
    """Sentences ranked by how much deleting each one lowers the probability of `label` (default: the head's).

    Returns {label, probability, sentences: [{text, start, end, drop, probability_without}], ...} with the
    top `top` sentences whose deletion lowers the probability (all of them, ranked, when top is None).
    One batched backbone pass over every (sentence, window it lies in) pair.
    """
    from core.llm.evidence import split_sentences
    from core.models.encoder import _pooled, window_embeddings

    text, _ = reading_text(text)  # same offsets; instructions to the model blanked, as predict reads it
    head = heads.heads[task]
    sentences = split_sentences(text)
    ids, offsets = _token_spans(encoder, text)
    starts, content = _window_starts(encoder, len(ids))
    full_windows = [ids[s:s + content] for s in starts]
    # tokens of each sentence (a token belongs to the sentence its first character lies in)
    tok_sentence = np.full(len(ids), -1)
    bounds = [(s, e) for _, s, e in sentences]
    j = 0
    for t, (a, _) in enumerate(offsets):
        while j < len(bounds) and a >= bounds[j][1]:
            j += 1
        if j < len(bounds) and bounds[j][0] <= a < bounds[j][1]:
            tok_sentence[t] = j
    seqs: list[list[int]] = [wrap(encoder.tokenizer, w) for w in full_windows]
    with encoder._lock:  # the whole note's windows: usually cached by the label that was just given
        base_t, _, _, cached_seqs, _ = window_embeddings(encoder, [text])
    if cached_seqs != seqs:  # a tokenizer that splits differently with offsets: embed the windows here
        base_t = None
    jobs: list[tuple[int, int]] = []  # (sentence, window) for seqs after the full windows
    for si in range(len(sentences)):
        for wi, s in enumerate(starts):
            inside = tok_sentence[s:s + content] == si
            if inside.any():
                kept = [tok for tok, hit in zip(full_windows[wi], inside, strict=True) if not hit]
                seqs.append(wrap(encoder.tokenizer, kept))
                jobs.append((si, wi))
    n_full = len(full_windows)
    todo = seqs if base_t is None else seqs[n_full:]
    with encoder._lock:
        fresh = [_pooled(encoder, todo, None).numpy()] if todo else []
    pooled = np.concatenate(([] if base_t is None else [base_t.numpy()]) + fresh).astype(np.float64)
    base = pooled[:n_full]
    base_w = np.array([max(1, len(s)) for s in seqs[:n_full]], dtype=np.float64)
    emb_full = (base * base_w[:, None]).sum(0) / base_w.sum()
    probs_full = head.probabilities(emb_full[None])[0]
    li = head.labels.index(label) if label is not None else int(np.argmax(probs_full))
    variants = []
    by_sentence: dict[int, list[tuple[int, int]]] = {}
    for k, (si, wi) in enumerate(jobs):
        by_sentence.setdefault(si, []).append((wi, n_full + k))
    order = sorted(by_sentence)
    for si in order:
        rows, weights = base.copy(), base_w.copy()
        for wi, row in by_sentence[si]:
            rows[wi] = pooled[row]
            weights[wi] = max(1, len(seqs[row]))
        variants.append((rows * weights[:, None]).sum(0) / weights.sum())
    probs_all = head.probabilities(np.array(variants)) if variants else np.zeros((0, len(head.labels)))
    probs_without = probs_all[:, li]
    ranked, flips = [], []
    chosen_is_top = li == int(np.argmax(probs_full))  # flips are read only for the head's own label
    for si, p, row in zip(order, probs_without, probs_all, strict=True):
        sent, s, e = sentences[si]
        ranked.append({"text": sent, "start": s, "end": e, "drop": float(probs_full[li] - p),
                       "probability_without": float(p)})
        if chosen_is_top and int(np.argmax(row)) != li:
            words = len(re.findall(r"[^\W\d_]+", sent))
            flips.append({"text": sent, "start": s, "end": e, "words": words, "fragment": words < FRAGMENT_WORDS,
                          "label_without": head.labels[int(np.argmax(row))],
                          "probability_without": float(row.max())})
    ranked.sort(key=lambda r: -r["drop"])
    if top is not None:
        ranked = [r for r in ranked if r["drop"] > 0][:top]
    return {"task": task, "label": head.labels[li], "probability": float(probs_full[li]), "sentences": ranked,
            # sentences whose deletion alone changes the label: a label that turns on a short line is not stable
            "flips": flips,
            "method": "occlusion: drop in the label's calibrated probability when the sentence is deleted",
            "n_sentences": len(sentences), "windows": n_full, "passes": len(seqs)}


def remove_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """The text without the given character spans (used to check that evidence is faithful)."""
    out, pos = [], 0
    for s, e in sorted(spans):
        out.append(text[pos:s])
        pos = max(pos, e)
    out.append(text[pos:])
    return " ".join(p.strip() for p in out if p.strip())


__all__ = ["occlusion", "remove_spans"]
