"""Rationale claims against the note: supported, unsupported and contradicted, shown as such."""

from __future__ import annotations

import streamlit as st

from app.widgets import inert, md_escape
from core.llm.evidence import claim_status, support_summary


def evidence_spans(claims: list[dict]) -> list[tuple[int, int, str, str]]:
    """Note spans: sentences supporting a claim (yellow) and sentences contradicting one (purple)."""
    spans = []
    for claim in claims or []:
        status = claim_status(claim)
        if status == "supported":
            spans += [(ev["start"], ev["end"], f"supports: {claim['claim'][:80]}", "evidence")
                      for ev in claim.get("evidence", [])]
        elif status == "contradicted" and claim.get("contradicted_by"):
            ev = claim["contradicted_by"]
            spans.append((ev["start"], ev["end"], f"contradicts: {claim['claim'][:80]}", "contradicts"))
    return spans


def summary_line(claims: list[dict]) -> str:
    c = support_summary(claims)
    return (f"{c['supported']} of {len(claims)} rationale claims have support in the note. "
            f"Unsupported: {c['unsupported']} · contradicted by the note: {c['contradicted']}.")


def render_claims(claims: list[dict]) -> None:
    """The summary line, then every contradicted claim (error style) and every unsupported one."""
    if not claims:
        return
    st.caption(summary_line(claims))
    for c in claims:
        if claim_status(c) == "contradicted":
            ev = c.get("contradicted_by") or {}
            st.error(f"**Contradicted by the note:** {md_escape(c['claim'])}  \nThe note says: "
                     f"“{md_escape(ev.get('sentence', ''))}”"
                     + (f" ({md_escape(ev['reason'])})" if ev.get("reason") else ""), icon=":material/block:")
    for c in claims:
        if claim_status(c) == "unsupported":
            st.markdown(f"⚠️ *No support in the note:* {inert(c['claim'])}", unsafe_allow_html=True)
