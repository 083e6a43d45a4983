"""Running the models on visits: consent, caching, provenance, audit.

Results are stored as ``analyses`` rows (draft until a psychiatrist signs
them). A result is looked up before anything runs, so reopening a visit or a
Streamlit rerun never recomputes: heads by (visit, heads version, text hash),
LLM tasks by (model id, adapter hash, prompt version, task, text hash) in the
model cache. Nothing half-written is stored: a failed run raises and leaves
no row.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from core import backends as remote
from core.clinical import indicators
from core.clinical.access import patient_for, require_consent, visit_for
from core.clinical.visit_indicators import by_visit
from core.context import Context
from core.errors import InferenceError, SignedImmutable
from core.labels import answer, cache_parts
from core.llm import answers
from core.llm.emotion import sentence_emotions
from core.llm.tasks import Task, get_task
from core.storage import records

HEADS_KIND, LLM_KIND, PROGRESSION_KIND = "heads", "llm", "progression"
EMOTION_KIND = "emotion"  # the emotion question asked of each sentence (not in the review queue: no rationale)


def _key(*parts) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


def _visit_for_run(ctx: Context, visit_id: int) -> tuple[dict, dict]:
    ctx.require("analyses.run")
    visit, patient = visit_for(ctx, visit_id, write=True)
    require_consent(patient)
    return visit, patient


def _store_result(ctx: Context, *, visit_id: int, kind: str, task: str, outputs: dict, model_id: str,
                  model_version: str, prompt_version: str, key: str, started: float, cache: bool = False,
                  **audit_details) -> dict:
    """The one ending of every model run: the result and its ``model.run`` event in one transaction (and the answer
    in the model cache when ``cache``), then the stored row. Provenance comes from the caller, never guessed."""
    duration = (time.perf_counter() - started) * 1000
    extra = {k: outputs.get(k, "") for k in ("label_source", "label_model_version")} if kind == LLM_KIND else {}
    with ctx.store.tx():
        if cache:
            records.cache_put(ctx.store, key, kind, outputs)
        aid = records.insert_analysis(
            ctx.store, visit_id=visit_id, kind=kind, task=task, outputs=outputs, model_id=model_id,
            model_version=model_version, prompt_version=prompt_version, cache_key=key, duration_ms=duration,
            created_by=ctx.user.id, **extra)
        ctx.audit("model.run", "analysis", aid, visit_id=visit_id, kind=kind, task=task,
                  model_version=model_version, prompt_version=prompt_version, **extra, **audit_details)
    return records.get_analysis(ctx.store, aid)


def heads_cache_key(encoder, text_hash: str) -> str:
    return _key("heads", encoder.model_id, encoder.version, text_hash)


def run_heads(ctx: Context, visit_id: int, encoder) -> dict:
    """Score one visit with the 5 heads (or return the stored result)."""
    visit, _ = _visit_for_run(ctx, visit_id)
    key = heads_cache_key(encoder, visit["text_hash"])
    found = records.find_analysis(ctx.store, visit_id, HEADS_KIND, HEADS_KIND, key)
    if found:
        return found

    start = time.perf_counter()
    try:
        [scores] = remote.score_texts(encoder, [visit["text"]])
    except (RuntimeError, ValueError) as exc:
        raise InferenceError(f"The encoder failed on this note: {exc}") from exc
    return _store_result(ctx, visit_id=visit_id, kind=HEADS_KIND, task=HEADS_KIND, outputs=scores,
                         model_id=encoder.model_id, model_version=encoder.version, prompt_version="", key=key,
                         started=start)


def llm_task_key(llm, task: str | Task, text: str, task_heads=None) -> str:
    """Cache key of one task's answer: the LLM's key, plus the task-heads version when a head gives the label."""

    task = get_task(task)
    key = answers.cache_key(llm, task, text)
    extra = cache_parts(task_heads, task.name)
    return key if not extra else "llm:" + _key(key, extra)


def run_llm_task(ctx: Context, visit_id: int, task: str | Task, llm, *, embedder=None,
                 on_token: Callable[[str], None] | None = None, task_heads=None, encoder=None) -> dict:
    """Answer one clinical task on one visit: the label (task head where there is one, else the LLM's scored
    label), the LLM's streamed rationale, faithful evidence for a head's label, linked evidence for the rationale.

    The task is resolved once here and the Task object is handed on; the cache key is computed once."""

    spec = get_task(task)
    task = spec.name
    visit, _ = _visit_for_run(ctx, visit_id)
    key = llm_task_key(llm, spec, visit["text"], task_heads)
    found = records.find_analysis(ctx.store, visit_id, LLM_KIND, task, key)
    if found:
        return found
    outputs = records.cache_get(ctx.store, key)
    start = time.perf_counter()
    if outputs is None:
        try:
            outputs = answer(llm, spec, visit["text"], task_heads=task_heads, encoder=encoder, on_token=on_token)
        except (RuntimeError, ValueError) as exc:
            raise InferenceError(f"The model failed on this note: {exc}") from exc
        if embedder is not None and outputs.get("rationale"):
            from core.llm.evidence import link_evidence

            outputs["evidence"] = link_evidence(outputs["rationale"], visit["text"], settings=ctx.settings,
                                                embedder=embedder)
    elif on_token is not None and outputs.get("rationale"):
        on_token(outputs["rationale"])
    return _store_result(ctx, visit_id=visit_id, kind=LLM_KIND, task=task, outputs=outputs,
                         model_id=outputs.get("model_id", getattr(llm, "model_id", "")),
                         model_version=outputs.get("model_version", getattr(llm, "version", "")),
                         prompt_version=outputs.get("prompt_version", ""), key=key, started=start, cache=True)


LABEL_ONLY_NOTE = ("The task head's label alone: no language model ran for this output. Its rationale, once "
                   "written, is a separate output.")


def head_label_key(task_heads, task: str | Task, text_hash: str) -> str:
    """Cache key of a task head's label alone (no language model involved)."""
    task = get_task(task)
    return "head-label:" + _key(task_heads.model_id, task_heads.version, task.name, task.prompt_version, text_hash)


def run_head_label(ctx: Context, visit_id: int, task: str | Task, task_heads, encoder) -> dict:
    """A task head's label on one visit, its calibrated probabilities and the sentences it rests on, stored at
    once as the task's answer without a rationale (``label_only``); the rationale comes later from the LLM."""
    from core.labels import answer

    spec = get_task(task)
    if task_heads is None or not task_heads.has(spec.name):
        raise InferenceError(f"There is no task head for {spec.name}.")
    visit, _ = _visit_for_run(ctx, visit_id)
    key = head_label_key(task_heads, spec, visit["text_hash"])
    found = records.find_analysis(ctx.store, visit_id, LLM_KIND, spec.name, key)
    if found:
        return found
    start = time.perf_counter()
    try:
        outputs = answer(None, spec, visit["text"], task_heads=task_heads, encoder=encoder,
                         no_llm_note=LABEL_ONLY_NOTE)
    except (RuntimeError, ValueError) as exc:
        raise InferenceError(f"The task head failed on this note: {exc}") from exc
    outputs["label_only"] = True
    return _store_result(ctx, visit_id=visit_id, kind=LLM_KIND, task=spec.name, outputs=outputs,
                         model_id=task_heads.model_id, model_version=task_heads.version,
                         prompt_version=spec.prompt_version, key=key, started=start)


def run_progression(ctx: Context, patient_id: int, llm, *, on_token=None) -> dict:
    """The LLM's symptom-progression narrative across the patient's dated visits (stored on the latest visit)."""
    from core.llm import answers

    ctx.require("analyses.run")
    require_consent(patient_for(ctx, patient_id, write=True))  # before any visit is read
    visits = records.list_visits(ctx.store, patient_id)
    if len(visits) < 2:
        raise InferenceError("Symptom progression needs at least two visits.")
    remote.require_in_process(llm, "The symptom-progression narrative", "llm_url")
    latest = visits[-1]
    digest = _key(*[v["text_hash"] + v["visit_date"] for v in visits])
    key = _key("progression", getattr(llm, "version", ""), digest)
    found = records.find_analysis(ctx.store, latest["id"], PROGRESSION_KIND, "progression", key)
    if found:
        return found
    start = time.perf_counter()
    outputs = answers.symptom_progression(
        llm, [{"visit_date": v["visit_date"], "text": v["text"]} for v in visits], on_token=on_token
    )
    return _store_result(ctx, visit_id=latest["id"], kind=PROGRESSION_KIND, task="progression", outputs=outputs,
                         model_id=outputs.get("model_id", ""), model_version=outputs.get("model_version", ""),
                         prompt_version=outputs.get("prompt_version", ""), key=key, started=start,
                         patient_id=patient_id)


def run_sentence_emotions(ctx: Context, visit_id: int, llm, *, progress=None) -> dict:
    """The language model's emotion for each sentence of one visit (label scoring), stored once."""
    visit, _ = _visit_for_run(ctx, visit_id)
    remote.require_in_process(llm, "The emotion of each sentence", "llm_url")
    key = _key("emotion-sentences", answers.cache_key(llm, "emotion", visit["text"]), indicators.version())
    found = records.find_analysis(ctx.store, visit_id, EMOTION_KIND, "emotion", key)
    if found:
        return found
    stored = by_visit(ctx, visit["patient_id"], [visit]).get(visit_id) or {}
    spans = [(a, b) for a, b, _ in (stored.get("emotion") or {}).get("sentences", [])] or [(0, len(visit["text"]))]
    start = time.perf_counter()
    try:
        outputs = sentence_emotions(llm, visit["text"], spans, progress=progress)
    except (RuntimeError, ValueError) as exc:
        raise InferenceError(f"The language model failed on this note: {exc}") from exc
    return _store_result(ctx, visit_id=visit_id, kind=EMOTION_KIND, task="emotion", outputs=outputs,
                         model_id=outputs["model_id"], model_version=outputs["model_version"],
                         prompt_version=outputs["prompt_version"], key=key, started=start)


def pending_work(ctx: Context, patient_id: int, encoder, llm=None, tasks: tuple[str, ...] = (),
                 task_heads=None) -> list[tuple]:
    """(visit, heads missing?, LLM tasks missing) for every visit with something still to compute: no heads result
    for the current heads version, or no result of a chosen task for the current LLM, prompt and task-heads
    version.

    The visits carry their notes, so the caller must be allowed to run analyses on this patient (the same check
    as running them), and the read is audited."""
    ctx.require("analyses.run")
    patient_for(ctx, patient_id, write=True)
    visits = records.list_visits(ctx.store, patient_id)
    done = {(a["visit_id"], a["cache_key"]) for a in records.list_analyses(ctx.store, [v["id"] for v in visits])}
    out = []
    for v in visits:
        heads = (v["id"], heads_cache_key(encoder, v["text_hash"])) not in done
        missing = tuple(t for t in (tasks if llm is not None else ())
                        if (v["id"], llm_task_key(llm, t, v["text"], task_heads)) not in done)
        if heads or missing:
            out.append((v, heads, missing))
    ctx.audit("visit.pending", "patient", patient_id, visits=[v["id"] for v, _, _ in out])
    return out


def analyze_pending(ctx: Context, patient_id: int, encoder, llm=None, tasks: tuple[str, ...] = (), *,
                    embedder=None, progress: Callable[[int, int, str], None] | None = None, task_heads=None) -> int:
    """Run the heads (and chosen LLM tasks) where their results are missing; returns the visits processed."""
    todo = pending_work(ctx, patient_id, encoder, llm, tasks, task_heads)
    steps = sum(int(heads) + len(missing) for _, heads, missing in todo)
    done = 0
    for visit, heads, missing in todo:
        if heads:
            if progress:
                progress(done, steps, f"Scoring visit of {visit['visit_date']}")
            run_heads(ctx, visit["id"], encoder)
            done += 1
        for task in missing:
            if progress:
                progress(done, steps, f"{task} on visit of {visit['visit_date']}")
            run_llm_task(ctx, visit["id"], task, llm, embedder=embedder, task_heads=task_heads, encoder=encoder)
            done += 1
    if progress:
        progress(steps, steps, "Done")
    return len(todo)


def _audit_read(ctx: Context, entity: str, entity_id: int, rows: list[dict], **details) -> None:
    """One event per read (as for patient reads), naming the outputs shown and the models that made them."""
    ctx.audit("analysis.read", entity, entity_id, analysis_ids=[r["id"] for r in rows],
              model_versions=sorted({r["model_version"] or "" for r in rows}), **details)


def visit_analyses(ctx: Context, visit_id: int) -> list[dict]:
    """The model outputs of one visit (audited: they are derived from the note)."""
    visit, _ = visit_for(ctx, visit_id)
    rows = records.list_analyses(ctx.store, [visit_id])
    _audit_read(ctx, "visit", visit_id, rows, patient_id=visit["patient_id"])
    return rows


def patient_analyses(ctx: Context, patient_id: int) -> list[dict]:
    """Every model output of the patient's visits (audited: they are derived from the notes)."""
    patient_for(ctx, patient_id)
    rows = records.list_patient_analyses(ctx.store, patient_id)
    _audit_read(ctx, "patient", patient_id, rows)
    return rows


def sign(ctx: Context, analysis_id: int, note: str = "") -> dict:
    """A psychiatrist signs an output: it becomes immutable, with who, when, model versions and their note."""
    ctx.require("analyses.sign")
    row = records.get_analysis(ctx.store, analysis_id)
    visit_for(ctx, row["visit_id"], write=True)
    if row["status"] == "signed":
        raise SignedImmutable("This output is already signed and cannot change.")
    with ctx.store.tx(durable=True):
        note = (note or "").strip()[:2000]
        records.sign_analysis(ctx.store, analysis_id, ctx.user.id, note)
        ctx.audit("analysis.sign", "analysis", analysis_id, model_id=row["model_id"], note=note,
                  model_version=row["model_version"], prompt_version=row["prompt_version"],
                  before="draft", after="signed")
    return records.get_analysis(ctx.store, analysis_id)
