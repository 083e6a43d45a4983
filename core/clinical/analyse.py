"""The one "Analyse" action of a patient: fast work now, language-model rationales in the background.

Now, in the foreground, for every visit (seconds, with progress on each step): the crisis check (phrase rules and,
with the encoder, the semantic layer; stored per visit), the five psychosocial heads, and for each chosen task
with an IMHI task head, that head's label with its probabilities and the sentences it rests on (stored at once,
without a rationale). Then the language model's part of each chosen task (the rationale; the label too for tasks
without a task head) is queued for the background worker (``rationale_queue``), for every visit that has no
language-model answer to that task yet.
"""

from __future__ import annotations

from collections.abc import Callable

from core.clinical import analysis, patients, rationale_queue
from core.clinical.access import patient_for, require_consent
from core.context import Context
from core.errors import ValidationError
from core.storage import records


def _has_full_answer(rows: list[dict], visit_id: int, task: str) -> bool:
    """Whether the visit has a language-model answer to ``task`` (not a task head's label alone)."""
    return any(a["visit_id"] == visit_id and a["kind"] == analysis.LLM_KIND and a["task"] == task
               and not (a["outputs"] or {}).get("label_only") for a in rows)


def analyse(ctx: Context, patient_id: int, encoder, tasks: tuple[str, ...] | list[str] = (), *, task_heads=None,
            progress: Callable[[int, int, str], None] | None = None, llm_unavailable: str = "") -> dict:
    """Run the fast part on every visit of the patient and queue the rest (see the module docstring).

    ``llm_unavailable``: why the language model cannot run (its load failed); then nothing is queued and the
    result's note says so.

    Returns {"visits", "scored", "labels", "crisis_flagged", "job_id" (None when nothing was queued), "note"
    (why nothing was queued)}."""
    ctx.require("analyses.run")
    tasks = list(dict.fromkeys(tasks))
    unknown = [t for t in tasks if t not in rationale_queue.queueable_tasks()]
    if unknown:
        raise ValidationError(f"Unknown or non-queueable task(s): {', '.join(map(str, unknown))}.")
    require_consent(patient_for(ctx, patient_id, write=True))
    visits = records.list_visits(ctx.store, patient_id)
    headed = [t for t in tasks if task_heads is not None and task_heads.has(t)]
    total = 1 + len(visits) * (1 + len(headed))
    step = 0

    def tell(text: str) -> None:
        if progress:
            progress(step, total, text)

    tell("Crisis check on every note")
    visits = patients.list_visits(ctx, patient_id, encoder=encoder)  # access check; stores missing crisis results
    step += 1
    scored = labels = 0
    for v in visits:
        tell(f"Scoring the visit of {v['visit_date']}")
        analysis.run_heads(ctx, v["id"], encoder)
        scored += 1
        step += 1
        for task in headed:
            tell(f"Task-head label ({task}) on the visit of {v['visit_date']}")
            analysis.run_head_label(ctx, v["id"], task, task_heads, encoder)
            labels += 1
            step += 1
    tell("Done")
    job_id, note = None, ""
    if tasks and visits:
        rows = records.list_analyses(ctx.store, [v["id"] for v in visits])
        todo = [v["id"] for v in visits if any(not _has_full_answer(rows, v["id"], t) for t in tasks)]
        if not todo:
            note = "Every visit already has the language model's answer to the chosen questions."
        elif llm_unavailable:
            note = (f"The language model is not available ({llm_unavailable}), so no rationale was queued; "
                    "the scores and the task heads' labels are stored.")
        else:
            try:
                job_id = rationale_queue.enqueue(ctx, patient_id, todo, tasks)
            except ValidationError as exc:  # all of it is already waiting in the queue
                note = str(exc)
    return {"visits": len(visits), "scored": scored, "labels": labels,
            "crisis_flagged": sum(1 for v in visits if v["crisis"].flagged), "job_id": job_id, "note": note}
