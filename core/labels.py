"""One answer to a clinical question: the label from the model that reads the note, the rationale from the LLM.

For a task with an IMHI task head (core/models/task_heads.py) the label and its
calibrated probabilities come from the head; the LLM still runs, scores its own
label (recorded as ``llm.label``) and writes its rationale after the head's label
sentence. The sentences the head's label rests on come from occlusion on the
head ("faithful evidence"). Tasks without a head keep the LLM's scored label.

Reliability is read from recorded evaluations only: a label source whose
evaluation on the IMHI test set does not beat both baselines, or ranks posts
at AUROC below 0.65, carries a "treat as unreliable" note. The LLM's own label
is shown beside the head's ("LLM reading") only where its recorded evaluation
for that task is reliable; a disagreement counts (and raises review priority)
only when both sources are reliable.

Every output names the model that produced its label (``label_source``,
``label_model_id``, ``label_model_version``) and the prompt version. No torch
at import time.
"""

from __future__ import annotations

from core import backends
from core.llm.tasks import get_task

NOT_EVALUATED = ("This task head has no recorded evaluation on the IMHI test set "
                 "(`python -m core evaluate-imhi --record`): treat its label as unverified.")

# A label from the language model on a task nobody measured it on: the probability beside it is the model's own
# confidence, not a measured accuracy, so the screen says so next to it.
NOT_EVALUATED_LLM = ("The language model has no recorded evaluation on the '{title}' task: its probability is "
                     "its own confidence, not a measured accuracy: treat its label as unreliable.")


def head_reliability(task_heads, task: str) -> dict:
    """{reliable, note} of a task head from the evaluation recorded beside it."""
    from core.models.task_evaluation import reliability_notes

    evaluation = task_heads.evaluation or {}
    found = next(((name, d) for name, d in (evaluation.get("datasets") or {}).items()
                  if task in d.get("tasks", [])), None)
    if found is None:
        return {"reliable": False, "note": NOT_EVALUATED}
    name, d = found
    note = reliability_notes(evaluation).get(task)
    # Measured on texts people wrote about themselves (IMHI), not on clinicians' session notes: the screen says so.
    summary = (f"Task head on the IMHI {name} test set ({d.get('n')} texts people wrote themselves, not clinical "
               f"notes): weighted F1 {d['weighted_f1']:.2f} "
               f"(majority class {d['majority']:.2f})" + (f", AUROC {d['auroc']:.2f}" if "auroc" in d else "")
               + f", calibration error {d['ece_after']:.2f}.")
    return {"reliable": note is None, "note": note, "summary": summary}


def llm_reliability(llm, task: str) -> dict:
    """{reliable, note} of the LLM on a task from the evaluation recorded beside its adapter."""
    note = (getattr(llm, "weak_tasks", None) or {}).get(task)
    reliable = task in (getattr(llm, "reliable_tasks", None) or set())
    if not reliable and note is None:
        note = ("The language model has no recorded IMHI evaluation for this task that beats both baselines with "
                "AUROC >= 0.65: its own label is not shown as a second reading.")
    return {"reliable": reliable, "note": note}


NO_LLM_NOTE = "The language model is not available: no rationale was written."


def answer(llm, task_name: str, text: str, *, task_heads=None, encoder=None, on_token=None,
           max_new_tokens: int | None = None, no_llm_note: str = NO_LLM_NOTE) -> dict:
    """The stored outputs of one task on one note (see the module docstring). Without an LLM (``llm`` None) a
    task head's label stands alone, with ``no_llm_note`` saying why there is no rationale."""

    task = get_task(task_name)
    if task_heads is None or encoder is None or not task_heads.has(task.name):
        out = backends.analyze(llm, task.name, text, on_token=on_token, max_new_tokens=max_new_tokens)
        rel = {"reliable": None, "note": None}
        if task.kind == "classify":
            reliable = task.name in (getattr(llm, "reliable_tasks", None) or set())
            note = (getattr(llm, "weak_tasks", None) or {}).get(task.name)
            if not reliable and note is None and out.get("label"):
                note = NOT_EVALUATED_LLM.format(title=task.title)
            rel = {"reliable": reliable, "note": note}
        out.update(label_source="llm" if out.get("label") else "none", label_model_id=out.get("model_id", ""),
                   label_model_version=out.get("model_version", ""), reliability=rel)
        return out
    from core.models import task_evidence
    from core.models import task_heads as th
    head = th.predict(task_heads, encoder, text, [task.name])[task.name]
    evidence = task_evidence.occlusion(task_heads, encoder, text, task.name, head["label"])
    rel_head = head_reliability(task_heads, task.name)
    ignored = ([f"The task head did not read {len(head['ignored_instructions'])} sentence(s) addressed to the model "
                "(instructions in a note are not clinical content)."] if head.get("ignored_instructions") else [])
    out: dict = {
        "task": task.name, "prompt_version": task.prompt_version,
        "label": head["label"], "probabilities": head["probabilities"],
        "label_source": "task_head", "label_model_id": task_heads.model_id,
        "label_model_version": task_heads.version, "reliability": rel_head,
        "faithful_evidence": evidence, "label_sentence": task.label_sentences[head["label"]],
        "rationale": "", "notes": list(ignored), "truncated": False,
    }
    if llm is None:
        from core.llm.answers import _input_notes

        out.update(model_id=task_heads.model_id, model_version=task_heads.version,
                   notes=_input_notes(text) + ignored
                   + [no_llm_note])
        return out
    res = backends.analyze(llm, task.name, text, on_token=on_token, max_new_tokens=max_new_tokens,
                           follow_label=head["label"])
    rel_llm = llm_reliability(llm, task.name)
    weak = (getattr(llm, "weak_tasks", None) or {}).get(task.name)
    # The LLM's own notes on the input (language, injection, truncation) stay; its reliability note is about
    # its label, which is not the one shown.
    notes = ignored + [n for n in (res.get("notes") or []) if n != weak]
    disagree = res.get("label") is not None and res.get("label") != head["label"]
    out.update(
        model_id=res.get("model_id", ""), model_version=res.get("model_version", ""),
        adapter_hash=res.get("adapter_hash", ""), rationale=res.get("rationale", ""),
        rationale_tokens=res.get("rationale_tokens"), truncated=bool(res.get("truncated")), notes=notes,
        llm={"label": res.get("label"), "probabilities": res.get("probabilities") or {},
             "model_id": res.get("model_id", ""), "model_version": res.get("model_version", ""),
             "reliable": rel_llm["reliable"], "note": rel_llm["note"], "shown": rel_llm["reliable"]},
        disagreement=bool(disagree and rel_llm["reliable"] and rel_head["reliable"]),
        seconds=res.get("seconds"),
    )
    if out["disagreement"]:
        out["notes"].append(f"The task head ({head['label']}) and the language model ({res.get('label')}) disagree; "
                            "both have a reliable recorded evaluation on this task, so this answer is queued for "
                            "review with priority.")
    return out


def cache_parts(task_heads, task: str) -> str:
    """What of the task heads enters an answer's cache key ('' for tasks without a head)."""
    if task_heads is None or not task_heads.has(task):
        return ""
    return f"task-heads:{task_heads.version}:{task_heads.model_id}"
