"""Rendering of one visit: note with crisis and evidence highlights, head scores, LLM answers, sign-off."""

from __future__ import annotations

import streamlit as st

from app import claims as claims_view
from app import indicators_view, resources, state
from app.score_style import scores_summary_html
from app.widgets import (
    DISCLAIMER,
    head_scores_chart,
    highlight,
    inert,
    probabilities_chart,
    provenance,
    synthetic_heads_note,
    token_heat,
)
from core.clinical import analysis, signoff
from core.clinical.attributions import explain_visit
from core.clinical.rationale_queue import generation_lock
from core.errors import CoreError
from core.models.heads import HEADS
from core.models.reliability import probability_phrase, reliability


def _sign_button(ctx, a: dict, feedback: dict | None = None) -> None:
    fb = (feedback or {}).get(a["id"]) or {}
    if fb.get("superseded"):
        return
    if a["status"] == "signed":
        if ctx.user.can("analyses.sign"):
            _supersede_form(ctx, a)
        return
    if not ctx.user.can("analyses.sign"):
        return
    confirm = f"confirm_sign_{a['id']}"
    if not st.session_state.get(confirm):
        if st.button("Sign off…", key=f"sign_{a['id']}", icon=":material/verified:"):
            st.session_state[confirm] = True
            st.rerun()
        return
    with st.container(border=True):
        st.markdown("**Sign off this output?** A signed output is never edited: it can only be superseded later, "
                    "with a reason.")
        if any(f["state"] == "open" for f in fb.get("flags", [])):
            st.warning("A QA reviewer flagged this output (see above).", icon=":material/flag:")
        note = st.text_area("Note (optional, kept with the signature)", key=f"sign_note_{a['id']}")
        c1, c2 = st.columns(2)
        if c1.button("Confirm sign-off", key=f"sign_confirm_{a['id']}", type="primary"):
            try:
                analysis.sign(ctx, a["id"], note)
                st.session_state.pop(confirm, None)
                st.toast("Signed. This output is now immutable.")
                st.rerun()
            except CoreError as exc:
                state.show_error(exc)
        if c2.button("Cancel", key=f"sign_cancel_{a['id']}"):
            st.session_state.pop(confirm, None)
            st.rerun()


def _supersede_form(ctx, a: dict) -> None:
    with st.expander("Supersede this signed output", icon=":material/history:"):
        st.caption("The signed output stays stored and visible, unchanged; it is marked as superseded with your "
                   "reason. Re-run the analysis afterwards for a new draft.")
        reason = st.text_area("Reason (required)", key=f"supersede_reason_{a['id']}")
        if st.button("Supersede", key=f"supersede_{a['id']}"):
            try:
                signoff.supersede(ctx, a["id"], reason)
                st.toast("Superseded; the reason is recorded.")
                st.rerun()
            except CoreError as exc:
                state.show_error(exc)


def render_feedback(a: dict, feedback: dict | None) -> None:
    """QA flags on this output (open or resolved: reason, severity, the reviewer's correction) and whether it
    was superseded, above the output."""
    fb = (feedback or {}).get(a["id"])
    if not fb:
        return
    if fb.get("superseded"):
        sup = fb["superseded"]
        st.info(f"**Superseded** by {sup['username']} on {sup['created_at'][:10]}: {sup['reason']}",
                icon=":material/history:")
    for f in fb.get("flags", []):
        body = (f"**QA flag ({f['state']}) · severity {f['severity']}** · {f['reason']} · reviewer {f['reviewer']}, "
                f"{f['created_at'][:10]}" + (f"  \nReviewer's note: {f['comment']}" if f["comment"] else "")
                + (f"  \nReviewer's correction: {f['correction']}" if f["correction"] else "")
                + f"  \n*{f['resolution'].capitalize()}.*")
        (st.warning if f["state"] == "open" else st.info)(body, icon=":material/flag:")


def _evidence_spans(outputs: dict) -> list[tuple[int, int, str, str]]:
    return claims_view.evidence_spans(outputs.get("evidence") or [])


def _basis_spans(outputs: dict) -> list[tuple[int, int, str, str]]:
    """What a task head's label rests on, as green note highlights."""
    fe = outputs.get("faithful_evidence") or {}
    return [(s["start"], s["end"], f"the label '{fe.get('label')}' rests on this sentence: deleting it lowers its "
             f"probability by {s['drop']:.2f}", "basis") for s in fe.get("sentences") or []]


UNRELIABLE_MARK = "treat its label as unreliable"


def _reliability(out: dict) -> tuple[bool | None, str | None]:
    """(reliable?, sentence) of the label's source; older answers carry the note among their notes."""
    rel = out.get("reliability")
    if isinstance(rel, dict):
        return rel.get("reliable"), rel.get("note") or rel.get("summary")
    weak = next((n for n in out.get("notes") or [] if UNRELIABLE_MARK in n), None)
    return (False, weak) if weak else (None, None)


def render_llm(ctx, a: dict, feedback: dict | None = None) -> None:
    render_feedback(a, feedback)
    out = a["outputs"]
    probs = out.get("probabilities") or {}
    label = out.get("label") or ("suggestions" if a["task"] == "next_steps" else "—")
    p = probs.get(label)
    head = out.get("label_source") == "task_head"
    source = (f" · label from the task head `{out.get('label_model_version')}`" if head
              else " · label from the language model" if out.get("label") and probs else "")
    st.markdown(f"**{task_title(a['task'])}: {label}**"
                + (f" · model probability {probability_phrase(p)}" if p is not None else "") + source)
    reliable, note = _reliability(out)
    if probs:
        # The probability bar and what the label source's recorded evaluation says about it, side by side.
        c1, c2 = st.columns([3, 2])
        with c1:
            st.plotly_chart(probabilities_chart(probs), key=f"probs_{a['id']}", width="stretch")
        with c2:
            if reliable is False and note:
                st.warning(note, icon=":material/warning:")
            elif note:
                st.info(note, icon=":material/verified:")
    elif reliable is False and note:
        st.warning(note, icon=":material/warning:")
    llm = out.get("llm") or {}
    if head and llm.get("shown") and llm.get("label"):
        lp = (llm.get("probabilities") or {}).get(llm["label"])
        st.markdown(f"LLM reading: **{llm['label']}**" + (f" · p {probability_phrase(lp)}" if lp is not None else "")
                    + f" · `{llm.get('model_version', '')}`")
    if out.get("disagreement"):
        st.warning(f"The task head says **{label}**, the language model says **{llm.get('label')}**. Both have a "
                   "reliable recorded evaluation on this task: this answer is queued for review with priority.",
                   icon=":material/call_split:")
    basis = (out.get("faithful_evidence") or {}).get("sentences") or []
    if head:
        st.markdown("**What the label rests on** (sentences whose deletion lowers the task head's probability of "
                    f"*{label}* most; highlighted green in the note)")
        if basis:
            for s in basis:
                st.markdown(f"- “{s['text']}” — without it, p({label}) falls by {s['drop']:.2f}")
        else:
            st.caption("No single sentence lowers the label's probability when deleted: the label rests on the "
                       "note as a whole.")
        for f in (out.get("faithful_evidence") or {}).get("flips") or []:
            if f.get("fragment"):
                st.warning(f"The label changes to **{f['label_without']}** if the short line “{f['text']}” is "
                           "deleted. A label that turns on a line this short is not a stable reading of this note: "
                           "read the note itself.", icon=":material/warning:")
            else:
                st.caption(f"Deleting “{f['text']}” alone changes the label to {f['label_without']}.")
    if out.get("rationale"):
        if head:
            st.markdown("*Generated text (language model; it explains the label, it did not choose it):*")
        else:
            st.markdown("*Rationale (model text):*")
        st.text(out["rationale"])
    claims_view.render_claims(out.get("evidence") or [])
    if a["task"] == "next_steps":
        from core.llm.tasks import NEXT_STEPS_DISCLAIMER

        st.warning(NEXT_STEPS_DISCLAIMER, icon=":material/info:")
    for n in out.get("notes") or []:
        if n != note:
            st.caption(f"Note: {n}")
    if head:
        st.caption(f"Label: task head `{out.get('label_model_version')}` (`{out.get('label_model_id')}`) · "
                   f"rationale: language model `{out.get('model_version') or '—'}`")
    provenance(a)
    _sign_button(ctx, a, feedback)


def render_heads(ctx, a: dict, visit: dict, feedback: dict | None = None) -> None:
    render_feedback(a, feedback)
    out = a["outputs"]
    rel = reliability(ctx.settings.heads_dir, a["model_version"])
    st.plotly_chart(head_scores_chart(out, rel), key=f"heads_chart_{a['id']}", width="stretch")
    st.markdown(scores_summary_html(out, rel), unsafe_allow_html=True)
    synthetic_heads_note(ctx.settings, a["model_version"])
    if out.get("windows", 1) > 1:
        st.caption(f"Long note: scored in {out['windows']} overlapping windows and averaged.")
    provenance(a)
    _sign_button(ctx, a, feedback)
    c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
    head = c1.selectbox("Explain a head", [h.name for h in HEADS], key=f"explain_head_{a['id']}",
                        format_func=lambda n: next(h.label for h in HEADS if h.name == n))
    if c2.button("Show token attributions", key=f"explain_{a['id']}"):
        enc = resources.encoder()
        if enc is not None:
            with st.spinner("Computing attributions…"):
                pairs = state.call(explain_visit, ctx, visit["id"], head, enc)
            if pairs is not None:
                st.session_state[f"attr_{a['id']}_{head}"] = pairs
    pairs = st.session_state.get(f"attr_{a['id']}_{head}")
    if pairs:
        st.markdown(token_heat(pairs), unsafe_allow_html=True)
        st.caption("Red words push this head's score up, blue words push it down.")


_WHY_NOT = {"negated": "negated in the same clause (a denial, 'no', 'never')",
            "contrast": "prevention, statistics or media context"}


def render_crisis_check(crisis) -> None:
    """What the crisis check looked at and did not flag, and whether its semantic layer ran."""
    layer = ("phrase rules and semantic similarity" if crisis.semantic == "on"
             else f"phrase rules only; semantic layer off: {crisis.semantic_note or 'no encoder'}")
    if not crisis.considered:
        st.caption(f"Crisis check: {layer}.")
        return
    with st.expander(f"Crisis check: considered, not flagged ({len(crisis.considered)})",
                     icon=":material/fact_check:"):
        st.caption(f"Checked with {layer}.")
        for f in crisis.considered:
            if f.layer == "semantic":
                how = f"semantic similarity {f.score:.2f}; {f.detail}"
            else:
                how = f"phrase rule “{f.phrase}”; {_WHY_NOT.get(f.detail, f.detail or 'negated')}"
            st.markdown(f"- {f.category}: “{f.sentence}” · _{how}_")


def visible_answers(analyses: list[dict], feedback: dict | None = None) -> list[dict]:
    """The visit's task answers to show: a task head's label stored alone (the fast part of Analyse) steps aside
    once the language model's full answer from the same task head is stored, unless it was signed, flagged or
    superseded (then it stays, as everything a person acted on does)."""
    rows = [a for a in analyses if a["kind"] == "llm"]

    def replaced(a: dict) -> bool:
        if not (a["outputs"] or {}).get("label_only") or a["status"] != "draft" or (feedback or {}).get(a["id"]):
            return False
        return any(b["id"] > a["id"] and b["task"] == a["task"] and not (b["outputs"] or {}).get("label_only")
                   and b.get("label_model_version") == a.get("label_model_version") for b in rows)

    return [a for a in rows if not replaced(a)]


def render_visit(ctx, visit: dict, analyses: list[dict], tasks: list[str], consent: bool,
                 indicators: dict | None = None, feedback: dict | None = None) -> None:
    crisis = visit["crisis"]
    spans = [(m.start, m.end, f"crisis language: {m.category}", "crisis") for m in crisis.active]
    answers = visible_answers(analyses, feedback)
    for a in answers:
        spans += _basis_spans(a["outputs"]) + _evidence_spans(a["outputs"])
    shown = indicators_view.choose_shown(visit["id"]) if indicators else []
    if shown:
        st.markdown(indicators_view.legend(indicators, shown), unsafe_allow_html=True)
        spans += indicators_view.note_spans(indicators, shown, [s for s in spans if s[3:] == ("crisis",)])
    st.markdown(highlight(visit["text"], spans, indicators_view.mark_styles()), unsafe_allow_html=True)
    st.caption(f"Source: {visit['source']} · highlighted: :red[crisis language] (red), :green[what a task head's "
               "label rests on] (green) and evidence for the rationales (yellow); purple marks a sentence that "
               "contradicts a rationale claim"
               + ("; indicators as in the legend (struck through: negated)" if shown else ""))
    render_crisis_check(crisis)
    indicators_view.render_panel(ctx, visit, indicators, analyses, consent)
    if not consent:
        st.info("No consent to ML analysis: models do not run on this patient's notes.", icon=":material/block:")
        return
    heads = [a for a in analyses if a["kind"] == "heads"]
    if heads:
        render_heads(ctx, heads[-1], visit, feedback)
    else:
        st.caption("Not scored yet: the *Analyse* button above scores every visit that has no scores.")
    for a in answers:
        with st.container(border=True):
            render_llm(ctx, a, feedback)
    if ctx.user.can("analyses.run"):
        c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
        task = c1.selectbox("Ask a clinical question", tasks, key=f"task_{visit['id']}", format_func=task_title)
        if c2.button("Run", key=f"run_task_{visit['id']}", icon=":material/play_arrow:"):
            run_task(ctx, visit["id"], task)


def task_title(name: str) -> str:
    """The task's clinical name. Dataset names (IMHI DR, Dreaddit, CAMS...) stay on the Models and Quality pages."""
    import re

    from core.llm.tasks import TASKS

    return re.sub(r"\s*\([^)]*\)$", "", TASKS[name].title) if name in TASKS else name


def run_task(ctx, visit_id: int, task: str) -> None:
    llm = resources.llm()
    if llm is None:
        st.error(f"The language model is not available, so {task_title(task)} did not run and nothing was "
                 "stored. Ask an administrator to check the model settings on the Models page.",
                 icon=":material/error:")
        return
    box = st.empty()
    streamed: list[str] = []

    def on_token(piece: str) -> None:
        streamed.append(piece)
        box.markdown("*Rationale (streaming):* " + inert("".join(streamed)), unsafe_allow_html=True)

    heads = resources.task_heads()
    try:
        with st.spinner(f"Running {task_title(task)} (after the background rationale being written, if any)…"):
            with generation_lock:  # one generation at a time in this process
                analysis.run_llm_task(ctx, visit_id, task, llm, embedder=resources.embedder(), on_token=on_token,
                                      task_heads=heads, encoder=resources.encoder() if heads is not None else None)
        st.rerun()
    except CoreError as exc:
        state.show_error(exc)
    st.caption(DISCLAIMER)
