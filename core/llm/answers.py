"""Answers from a MentaLLaMA-style model that do not depend on it obeying a template.

* The label is scored, not parsed: the log-likelihood of each candidate label
  sentence after the prompt (the prompt's KV cache is computed once and shared),
  normalised into probabilities.
* The rationale is generated after the chosen label sentence and ``Reasoning:``,
  greedily (deterministic), bounded, and streamed piece by piece to ``on_token``.
* ``parse_response`` reads free text from any MentaLLaMA-style model into
  ``{label or None, label_source, rationale, parse_ok}`` and never falls back to a default;
  given a reasoning reader it infers the label an answer argues for without stating it.

torch is imported inside the functions that run the model; parsing needs none.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import time
from datetime import date

from core.errors import InferenceError, ModelOutOfMemory, ValidationError
from core.llm.model import context_length
from core.llm.parsing import label_as_paper
from core.llm.tasks import NEXT_STEPS_DISCLAIMER, REASONING, Task, get_task

# Longest prompt read, in tokens; longer texts are cut with a visible note (CPU latency grows with length).
MAX_PROMPT_TOKENS = 2048
REPETITION_PENALTY = 1.1

# ================================================================== scoring and generation
INJECTION_RE = re.compile(
    r"\b(ignore|disregard|forget)\b.{0,40}\b(previous|above|prior|earlier)\b.{0,20}\b(instructions?|prompts?|rules)\b"
    r"|\b(answer|respond|say)\s+(only\s+)?[\"']?(yes|no)\b|\bsystem prompt\b|\byou are now\b",
    re.IGNORECASE | re.DOTALL,
)


def _validate_text(text) -> str:
    if text is None or not str(text).strip():
        raise ValidationError("The text is empty; there is nothing to analyse")
    return str(text).strip()


def _input_notes(text: str) -> list[str]:
    notes = []
    if INJECTION_RE.search(text):
        notes.append("The text contains instructions addressed to the model; they were treated as part of the "
                     "post (the label comes from scoring, not from following them).")
    letters = [c for c in text if c.isalpha()]
    if letters and sum(c.isascii() for c in letters) / len(letters) < 0.6:
        notes.append("The text appears not to be in English; the model was tuned on English posts, so treat the "
                     "result with extra caution.")
    return notes


def cache_key(llm, task_name: str, text: str) -> str:
    """Key of one output in the model cache: model id, adapter hash, prompt version, task, text hash."""
    task = get_task(task_name)
    text_hash = hashlib.sha256(str(text).encode("utf-8", "surrogatepass")).hexdigest()
    parts = [llm.model_id, llm.adapter_hash, task.prompt_version, task.name, text_hash]
    return "llm:" + hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def build_prompt_ids(llm, task: Task, text: str, reserve: int) -> tuple[list[int], bool, int]:
    """Prompt token ids with the post cut (keeping its beginning) so prompt + `reserve` fit.

    Returns (ids, truncated, post tokens kept)."""

    tok = llm.tokenizer
    before, after = task.build_prompt("{}").split("{}")
    before_ids, after_ids = _ids(tok, before), _ids(tok, after)
    post_ids = _ids(tok, text)
    limit = min(context_length(llm), MAX_PROMPT_TOKENS + reserve) - reserve - len(before_ids) - len(after_ids)
    truncated = len(post_ids) > limit
    if truncated:
        post_ids = post_ids[: max(limit, 16)]
    bos = [tok.bos_token_id] if getattr(tok, "add_bos_token", False) and tok.bos_token_id is not None else []
    return bos + before_ids + post_ids + after_ids, truncated, len(post_ids)


def _forward(model, ids, cache=None, attention_mask=None):
    import torch

    try:
        with torch.inference_mode():
            return model(input_ids=ids, past_key_values=cache, attention_mask=attention_mask, use_cache=True)
    except torch.cuda.OutOfMemoryError as exc:
        raise ModelOutOfMemory("The model ran out of GPU memory on this text; try a shorter text or 4-bit") from exc
    except MemoryError as exc:
        raise ModelOutOfMemory("The model ran out of memory on this text") from exc
    except RuntimeError as exc:
        raise InferenceError(f"The model failed on this text: {exc}") from exc


def _prefill(llm, task: Task, text: str):
    """Run the prompt once: (prompt ids, cache, last-position log-probs, truncated, notes)."""
    import torch

    text = _validate_text(text)
    notes = _input_notes(text)
    longest = max(len(_ids(llm.tokenizer, s)) for s in task.label_sentences.values())
    reserve = longest + 8 + 256  # label sentence, " Reasoning:", and room for the rationale
    ids, truncated, kept = build_prompt_ids(llm, task, text, reserve)
    if truncated:
        notes.append(f"The text was longer than the model reads at once; only its first {kept} tokens "
                     f"(about {kept * 4} characters) were analysed.")
    input_ids = torch.tensor([ids], device=llm.model.device)
    out = _forward(llm.model, input_ids)
    last = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
    return ids, out.past_key_values, last, truncated, notes


def _score_sentences(llm, cache, last_logprobs, prompt_len: int, sentences: list[str]) -> list[float]:
    """Sum of log-probabilities of each sentence after the prompt, all in one batch on a shared cache."""
    import torch

    tok = llm.tokenizer
    conts = [_ids(tok, s) for s in sentences]
    n, width = len(conts), max(len(c) for c in conts)
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    batch = torch.full((n, width), pad, dtype=torch.long, device=llm.model.device)
    mask = torch.zeros((n, prompt_len + width), dtype=torch.long, device=llm.model.device)
    mask[:, :prompt_len] = 1
    for i, c in enumerate(conts):
        batch[i, : len(c)] = torch.tensor(c)
        mask[i, prompt_len: prompt_len + len(c)] = 1
    shared = copy.deepcopy(cache)
    shared.batch_repeat_interleave(n)
    out = _forward(llm.model, batch, shared, attention_mask=mask)
    logp = torch.log_softmax(out.logits.float(), dim=-1)
    scores = []
    for i, c in enumerate(conts):
        total = float(last_logprobs[c[0]])
        for j in range(1, len(c)):
            total += float(logp[i, j - 1, c[j]])
        scores.append(total)
    return scores


def corrected_scores(llm, task: Task, scores: list[float]) -> list[float]:
    """Add the adapter's label-prior correction (its training data was label-balanced) to raw scores."""
    shift = (getattr(llm, "prior_shift", None) or {}).get(task.name, {})
    return [s + shift.get(label, 0.0) for label, s in zip(task.labels, scores, strict=True)]


def _softmax(scores: list[float]) -> list[float]:
    import math

    m = max(scores)
    e = [math.exp(s - m) for s in scores]
    z = sum(e)
    return [x / z for x in e]


def _greedy(llm, cache, next_logprobs, *, max_new_tokens: int, on_token=None, stop: tuple[str, ...] = ()) -> tuple[str, int, bool]:
    """Greedy decoding from a primed cache; streams decoded pieces. Returns (text, tokens, hit_limit)."""
    import torch

    tok = llm.tokenizer
    eos = {tok.eos_token_id, tok.pad_token_id} - {None}
    generated: list[int] = []
    shown = ""
    logits = next_logprobs
    for _ in range(max_new_tokens):
        scores = logits.clone()
        if generated and REPETITION_PENALTY != 1.0:
            seen = torch.tensor(sorted(set(generated)), device=scores.device)
            vals = scores[seen]
            scores[seen] = torch.where(vals < 0, vals * REPETITION_PENALTY, vals / REPETITION_PENALTY)
        nxt = int(torch.argmax(scores))
        if nxt in eos:
            return shown, len(generated), False
        generated.append(nxt)
        text = tok.decode(generated, skip_special_tokens=True)
        # Emit only complete characters (a multi-byte character may span tokens).
        if not text.endswith("\ufffd"):
            piece, shown = text[len(shown):], text
            if piece and on_token is not None:
                on_token(piece)
        if stop and any(s in shown for s in stop):
            return shown, len(generated), False
        out = _forward(llm.model, torch.tensor([[nxt]], device=llm.model.device), cache)
        cache = out.past_key_values
        logits = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
    return shown, len(generated), True


def _continue_after(llm, cache, text: str):
    """Feed `text` after the cached prefix; returns (cache, next log-probs)."""
    import torch

    ids = _ids(llm.tokenizer, text)
    out = _forward(llm.model, torch.tensor([ids], device=llm.model.device), cache)
    return out.past_key_values, torch.log_softmax(out.logits[0, -1].float(), dim=-1)


def _meta(llm, task: Task) -> dict:
    return {"task": task.name, "prompt_version": task.prompt_version, "model_id": llm.model_id,
            "model_version": llm.version, "adapter_hash": llm.adapter_hash}


def _training_note(llm, task: Task) -> list[str]:
    trained = getattr(llm, "trained_tasks", None)
    if trained is not None and task.name not in trained:
        return [f"The model was not tuned on the '{task.title}' task; its answer rests on the base model alone."]
    weak = (getattr(llm, "weak_tasks", None) or {}).get(task.name)
    return [weak] if weak else []


def score_labels(llm, task_name: str, text: str) -> dict:
    """Label by scoring only (no rationale): {label, probabilities, truncated, notes, ...}."""
    task = get_task(task_name)
    if task.kind != "classify":
        raise ValidationError(f"Task {task.name!r} generates text; it has no labels to score")
    t0 = time.perf_counter()
    ids, cache, last, truncated, notes = _prefill(llm, task, text)
    sentences = list(task.label_sentences.values())
    raw = _score_sentences(llm, cache, last, len(ids), sentences)
    probs = _softmax(corrected_scores(llm, task, raw))
    probabilities = {label: round(p, 6) for label, p in zip(task.labels, probs, strict=False)}
    label = max(probabilities, key=probabilities.get)
    return {**_meta(llm, task), "label": label, "probabilities": probabilities, "rationale": "",
            "truncated": truncated, "notes": notes + _training_note(llm, task), "prompt_tokens": len(ids),
            "seconds": round(time.perf_counter() - t0, 3), "_cache": cache, "_last": last}


def analyze(llm, task_name: str, text: str, *, on_token=None, max_new_tokens: int | None = None,
            follow_label: str | None = None) -> dict:
    """Label by scoring, then the rationale generated after the chosen label sentence and streamed.

    With `follow_label` (a label given by another model, e.g. a task head) the model's own scored label is still
    returned as ``label``, but the rationale is generated after `follow_label`'s sentence.
    """
    task = get_task(task_name)
    t0 = time.perf_counter()
    limit = max_new_tokens or _default_max_new_tokens(llm)
    if follow_label is not None and follow_label not in task.label_sentences:
        raise ValidationError(f"{follow_label!r} is not a label of task {task.name!r}")
    if task.kind == "classify":
        result = score_labels(llm, task_name, text)
        cache = result.pop("_cache")
        sentence = task.label_sentences[follow_label or result["label"]]
        result.pop("_last")
    else:
        ids, cache, _last, truncated, notes = _prefill(llm, task, text)
        sentence = next(iter(task.label_sentences.values()))
        result = {**_meta(llm, task), "label": None, "probabilities": {}, "truncated": truncated,
                  "notes": notes + _training_note(llm, task), "prompt_tokens": len(ids)}
    lead = f"{sentence} {REASONING}" if task.kind == "classify" else sentence
    cache, nxt = _continue_after(llm, cache, lead)
    rationale, n_tokens, hit_limit = _greedy(llm, cache, nxt, max_new_tokens=limit, on_token=on_token)
    rationale = rationale.strip()
    if hit_limit:
        result["notes"].append(f"The rationale was cut at {limit} tokens.")
    result.update(label_sentence=sentence, rationale=rationale, rationale_tokens=n_tokens,
                  seconds=round(time.perf_counter() - t0, 3))
    return result


def _default_max_new_tokens(llm) -> int:
    return int(getattr(llm, "max_new_tokens", 0) or 96)


def label_by_generation(llm, task_name: str, text: str, *, max_new_tokens: int = 32) -> dict:
    """The MentaLLaMA way: generate the answer greedily and read the label before ``Reasoning:``."""
    task = get_task(task_name)
    t0 = time.perf_counter()
    ids, cache, last, truncated, notes = _prefill(llm, task, text)
    generated, _, _ = _greedy(llm, cache, last, max_new_tokens=max_new_tokens, stop=(REASONING,))
    return {"label": label_as_paper(task_name, generated), "generated": generated,
            "seconds": round(time.perf_counter() - t0, 3)}


# ================================================================== digital-twin tasks
def assess_risk(llm, text: str, on_token=None) -> dict:
    """Risk low/medium/high with probabilities and a rationale (JSON-serialisable)."""
    r = analyze(llm, "risk", text, on_token=on_token)
    out = {k: v for k, v in r.items() if not k.startswith("_")}
    json.dumps(out)  # fail here, not in the caller's storage, if anything is not serialisable
    return out


def _visit_date(value) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise ValidationError(f"Visit date {value!r} is not a date (YYYY-MM-DD)") from exc


# Characters of visit text the progression prompt holds (the in-process model reads 2048 tokens, ~4 characters each,
# and the prompt and answer need room); each visit gets at least PROGRESSION_MIN_PER_VISIT of them.
PROGRESSION_BUDGET = 6000
PROGRESSION_MIN_PER_VISIT = 400


def progression_input(visits: list[dict]) -> tuple[str, list[str], int]:
    """(prompt text, dates included, number of oldest visits left out) for the progression narrative.

    Visits are joined oldest first, as a clinician reads a history, but chosen newest first: when they do not all
    fit, the oldest are left out, never the newest (the model's input is cut at its end, so the caller must not
    rely on truncation to choose).
    """
    rows = []
    for v in visits:
        if "visit_date" not in v or "text" not in v:
            raise ValidationError("Each visit needs 'visit_date' and 'text'")
        rows.append((_visit_date(v["visit_date"]), _validate_text(v["text"])))
    rows.sort(key=lambda r: r[0])
    per_visit = max(PROGRESSION_MIN_PER_VISIT, PROGRESSION_BUDGET // len(rows))
    chosen, used = [], 0
    for d, t in reversed(rows):
        piece = f"[Visit {d.isoformat()}] {t[:per_visit]}"
        if chosen and used + len(piece) + 1 > PROGRESSION_BUDGET:
            break
        chosen.append((d, piece))
        used += len(piece) + 1
    chosen.reverse()
    return " ".join(p for _, p in chosen), [d.isoformat() for d, _ in chosen], len(rows) - len(chosen)


def symptom_progression(llm, visits: list[dict], on_token=None) -> dict:
    """Trend (improving/stable/worsening) across a patient's dated visits, with a rationale."""
    if not visits or len(visits) < 2:
        raise ValidationError("Symptom progression needs at least two dated visits")
    joined, dates, omitted = progression_input(visits)
    r = analyze(llm, "progression", joined, on_token=on_token)
    out = {k: v for k, v in r.items() if not k.startswith("_")}
    out["trend"] = out["label"]
    out["visits"] = dates
    if omitted:
        out.setdefault("notes", []).append(
            f"The {omitted} oldest visit{'s' if omitted != 1 else ''} did not fit in the model's input and "
            f"{'were' if omitted != 1 else 'was'} not read; the narrative covers {dates[0]} to {dates[-1]}.")
    return out


def next_steps(llm, text: str, on_token=None) -> dict:
    """Suggested next steps (generated) with the disclaimer the UI must show beside them."""
    r = analyze(llm, "next_steps", text, on_token=on_token)
    lines = [re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", ln).strip() for ln in re.split(r"\n|(?<=\.)\s+(?=\d+[.)])", r["rationale"])]
    out = {k: v for k, v in r.items() if not k.startswith("_")}
    out["suggestions"] = [ln for ln in lines if ln]
    out["disclaimer"] = NEXT_STEPS_DISCLAIMER
    return out


__all__ = [
    "analyze", "score_labels", "label_by_generation", "cache_key",
    "assess_risk", "symptom_progression", "progression_input", "next_steps",
]
