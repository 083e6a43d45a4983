"""Psycholinguistic indicators on screen: legend and toggles over the note, a table, emotion bars, trajectories.

Colours are Okabe-Ito (safe for the common colour-vision deficiencies), told apart by colour and underline
style; red stays reserved for crisis language, which always wins where it overlaps an indicator.
"""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from app import resources, state
from app.widgets import _date_axis, visit_labels
from core.clinical import analysis, visit_indicators
from core.clinical import indicators as ind
from core.clinical.rationale_queue import generation_lock
from core.errors import CoreError

# (colour, underline style) per indicator; Okabe-Ito without its vermillion (too close to crisis red).
PALETTE = {
    "absolutist": ("#E69F00", "solid"), "first_person": ("#56B4E9", "solid"),
    "negative_emotion": ("#CC79A7", "solid"), "positive_emotion": ("#009E73", "solid"),
    "hopelessness": ("#0072B2", "solid"), "helplessness": ("#0072B2", "dashed"),
    "distortion": ("#E69F00", "dashed"), "sleep": ("#F0E442", "solid"), "appetite": ("#F0E442", "dashed"),
    "energy": ("#F0E442", "dotted"), "substance": ("#000000", "dashed"), "social": ("#56B4E9", "dashed"),
    "alone": ("#CC79A7", "dashed"),
}
EMOTION_COLOURS = {"sadness": "#0072B2", "fear": "#CC79A7", "anger": "#E69F00", "joy": "#009E73",
                   "neutral": "#BBBBBB"}
DEFAULT_SHOWN = ["hopelessness", "helplessness", "absolutist", "distortion"]
STATUS_TEXT = {"ok": "", "english_only": "English only", "no_words": "no words", "not_applicable": "not applicable"}


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def mark_styles() -> dict[str, str]:
    """CSS of each indicator's marks, for app.widgets.highlight (negated matches are struck through)."""
    styles = {}
    for name, (colour, line) in PALETTE.items():
        base = f"background:{_rgba(colour, 0.28)};border-bottom:3px {line} {colour}"
        styles[f"ind-{name}"] = base
        styles[f"ind-{name}-neg"] = base + ";text-decoration:line-through"
    return styles


def note_spans(result: dict | None, shown: list[str], crisis: list[tuple]) -> list[tuple]:
    """(start, end, title, kind) of the chosen indicators' matches; one mark per range, none over crisis text."""
    if not result:
        return []
    blocked = [(s[0], s[1]) for s in crisis]
    merged: dict[tuple[int, int], list] = {}
    order = {name: i for i, name in enumerate(shown)}
    for start, end, name, subtype, negated in result.get("spans", []):
        if name not in order or any(start < b and a < end for a, b in blocked):
            continue
        merged.setdefault((start, end), []).append((order[name], name, subtype, negated))
    out = []
    for (start, end), hits in merged.items():
        hits.sort()
        title = "; ".join(ind.SPECS[n].label + (f" ({s})" if s else "") + (" — negated, not counted" if g and
                          ind.SPECS[n].negation_cancels else " — negated" if g else "") for _, n, s, g in hits)
        _, name, _, negated = hits[0]
        out.append((start, end, title, f"ind-{name}" + ("-neg" if negated else "")))
    return out


def legend(result: dict | None, shown: list[str]) -> str:
    """HTML chips for the shown indicators, each with its colour, line style and count in this note."""
    chips = []
    cells = (result or {}).get("indicators", {})
    for name in shown:
        colour, line = PALETTE[name]
        count = (cells.get(name) or {}).get("count", 0)
        chips.append(f"<span style='background:{_rgba(colour, 0.28)};border-bottom:3px {line} {colour};"
                     f"padding:0 4px;margin-right:6px'>{html.escape(ind.SPECS[name].label)} · {count}</span>")
    return "<div class='mhd-ind-legend' style='line-height:2'>" + "".join(chips) + "</div>"


def choose_shown(visit_id: int) -> list[str]:
    """The indicator toggles above a note."""
    return st.multiselect("Highlight indicators", list(PALETTE), default=DEFAULT_SHOWN, key=f"ind_show_{visit_id}",
                          format_func=lambda n: ind.SPECS[n].label,
                          help="Words and phrases linked to mental state in research; struck through: negated "
                               "in its clause (\"not hopeless\").")


def _cell(c: dict | None, digits: int = 2) -> str:
    if not c:
        return "—"
    if c.get("status") != "ok":
        return STATUS_TEXT.get(c.get("status"), c.get("status", "—"))
    return f"{c['value']:.{digits}f}"


def indicator_table(result: dict) -> pd.DataFrame:
    rows = []
    for spec in ind.INDICATORS:
        c = result["indicators"].get(spec.name) or {}
        extra = ""
        if spec.name == "first_person" and c.get("share") is not None:
            extra = f"{c['share']:.0%} of personal pronouns"
        if c.get("by_subtype"):
            extra = ", ".join(f"{k} {v}" for k, v in c["by_subtype"].items())
        rows.append({"Indicator": spec.label, "Value": _cell(c), "Unit": spec.unit, "Count": c.get("count", 0),
                     "Negated": c.get("negated", 0), "Detail": extra or c.get("reason", "")})
    return pd.DataFrame(rows)


def emotion_bar(result: dict | None, model_bars: list[tuple[str, dict]] | None = None):
    """Stacked bars: the note's text by its sentences' dominant emotion, then any language-model readings."""
    import plotly.graph_objects as go

    bars = []
    if result and result.get("emotion"):
        bars.append(("Word lists (share of the note)", result["emotion"]["share"]))
    bars += model_bars or []
    fig = go.Figure()
    for emotion, colour in EMOTION_COLOURS.items():
        fig.add_trace(go.Bar(y=[b for b, _ in bars], x=[p.get(emotion, 0.0) for _, p in bars], name=emotion,
                             orientation="h", marker_color=colour,
                             hovertemplate=f"{emotion}: %{{x:.0%}}<extra></extra>"))
    fig.update_layout(barmode="stack", height=70 + 35 * len(bars), margin=dict(l=10, r=10, t=5, b=5),
                      xaxis=dict(range=[0, 1], tickformat=".0%"), legend=dict(orientation="h", y=-0.5),
                      yaxis=dict(autorange="reversed"))
    return fig


def _model_bars(analyses: list[dict]) -> list[tuple[str, dict]]:
    bars = []
    per_sentence = [a for a in analyses if a["kind"] == "emotion"]
    if per_sentence:
        bars.append(("Language model, per sentence", per_sentence[-1]["outputs"]["probabilities"]))
    whole = [a for a in analyses if a["kind"] == "llm" and a["task"] == "emotion"]
    if whole and whole[-1]["outputs"].get("probabilities"):
        bars.append(("Language model, whole note", whole[-1]["outputs"]["probabilities"]))
    return bars


def _run_sentence_emotions(ctx, visit_id: int) -> None:
    llm = resources.llm()
    if llm is None:
        st.error("The language model is not available, so the emotion of each sentence was not scored and nothing "
                 "was stored.", icon=":material/error:")
        return
    bar = st.progress(0.0, text="Scoring each sentence…")
    try:
        with generation_lock:  # one generation at a time in this process (the background queue's too)
            analysis.run_sentence_emotions(ctx, visit_id, llm,
                                           progress=lambda done, total: bar.progress(
                                               done / total, text=f"Sentence {done} of {total}"))
        st.rerun()
    except CoreError as exc:
        state.show_error(exc)


def render_panel(ctx, visit: dict, result: dict | None, analyses: list[dict], consent: bool = False) -> None:
    """The indicators of one visit: notes, table, emotion bars, provenance."""
    if not result:
        st.caption("No indicators stored for this visit.")
        return
    with st.expander("Psycholinguistic indicators and emotion", icon=":material/format_color_text:"):
        for note in result.get("notes", []):
            st.caption(note)
        st.dataframe(indicator_table(result), hide_index=True, width="stretch", key=f"ind_table_{visit['id']}")
        bars = _model_bars(analyses)
        if result.get("emotion") or bars:
            st.plotly_chart(emotion_bar(result, bars), key=f"ind_emotion_{visit['id']}", width="stretch")
            st.caption("Emotion: the share of the note whose sentences have each dominant emotion, from short written "
                       "word lists (neutral when none is found)"
                       + ("; the language model's probabilities for the five answers to \"What emotion does the "
                          "poster mainly express?\", averaged over the sentences or for the whole note. The "
                          "embedded model was not tuned on this question." if bars else "."))
        for a in analyses:
            if a["kind"] == "emotion":
                for note in a["outputs"].get("notes", []):
                    st.caption(f"Note: {note}")
                st.caption(f"Per-sentence emotion: model `{a['model_id']}` version `{a['model_version']}` · prompt "
                           f"`{a['prompt_version']}` · Decision support, not a diagnosis.")
        if consent and ctx.user.can("analyses.run") and not any(a["kind"] == "emotion" for a in analyses) \
                and result.get("emotion"):
            if st.button("Emotion of each sentence (language model)", key=f"emotion_sentences_{visit['id']}"):
                _run_sentence_emotions(ctx, visit["id"])
        st.caption(f"Word counts, no model · indicators {result.get('version', '?')} · {result.get('words', 0)} words"
                   f" · speaker: {result.get('speaker', '?').replace('_', ' ')} · VADER lexicon (MIT) and lists "
                   "written for mhdash. Research links these words to mental state in groups of people; in one "
                   "note they are a prompt to read, not a finding.")


# ---------------------------------------------------------------- trajectories
def trajectory_figure(spec, dates: list[str], values: list, band: dict | None):
    import plotly.graph_objects as go

    fig = go.Figure()
    if band:
        fig.add_hrect(y0=band["p25"], y1=band["p75"], fillcolor="rgba(120,120,120,0.18)", line_width=0,
                      layer="below", annotation_text="IQR, not-depressed social-media posts",
                      annotation_position="top left", annotation_font_size=10)
    colour = PALETTE.get(spec.name, ("#0072B2", "solid"))[0]
    fig.add_trace(go.Scatter(x=dates, y=values, mode="lines+markers", name=spec.label, line=dict(color=colour),
                             customdata=visit_labels([str(d)[:10] for d in dates]),
                             hovertemplate="%{customdata}: %{y:.2f}<extra></extra>", connectgaps=False))
    yaxis = dict(title=spec.unit)
    if spec.name == "valence":
        yaxis["range"] = [-1, 1]
    fig.update_layout(height=240, margin=dict(l=10, r=10, t=30, b=10), title=spec.label, showlegend=False,
                      yaxis=yaxis, xaxis=_date_axis(dates))
    return fig


def emotion_by_visit(rows: list[tuple[str, dict]], title: str = "Emotion by visit (word lists)"):
    """One stacked bar per visit: (visit date, {emotion: share}) in visit order. The axis is one category per
    visit: on a date axis two visits of one day would share a bar and one of them would be hidden."""
    import plotly.graph_objects as go

    labels = visit_labels([d for d, _ in rows])
    fig = go.Figure()
    for emotion, colour in EMOTION_COLOURS.items():
        fig.add_trace(go.Bar(x=labels, y=[share.get(emotion, 0.0) for _, share in rows],
                             name=emotion, marker_color=colour,
                             hovertemplate=f"%{{x}} · {emotion}: %{{y:.0%}}<extra></extra>"))
    fig.update_layout(barmode="stack", height=240, margin=dict(l=10, r=10, t=30, b=10), title=title,
                      xaxis=dict(type="category", title="visit"),
                      yaxis=dict(range=[0, 1], tickformat=".0%"), legend=dict(orientation="h", y=-0.3))
    return fig


def render_trajectories(ctx, visits: list[dict], stored: dict[int, dict] | None, analyses: list[dict] = ()) -> None:
    st.subheader("Psycholinguistic indicators")
    rows = visit_indicators.series(stored or {}, visits)
    if not rows:
        st.info("No indicators stored for these visits yet.")
        return
    ref = visit_indicators.reference(ctx.settings)
    window = ctx.settings.trend_window
    trends = visit_indicators.trends(stored, visits, window, ref)
    for t in trends:
        if t.alert:
            st.error(f"**{t.label}**: {t.reason}.", icon=":material/warning:")
    st.dataframe(pd.DataFrame([{
        "Indicator": t.label, "Latest": "—" if t.last is None else f"{t.last:.2f}",
        "Change since last visit": "—" if t.change is None else f"{t.change:+.2f}",
        "Beyond sampling spread": "yes" if t.change_significant else "no",
        f"Trend slope/visit (last {window})": "—" if t.slope_per_visit is None else f"{t.slope_per_visit:+.3f}",
        "Kendall p": "—" if t.trend_p is None else f"{t.trend_p:.3f}", "Direction": t.direction,
    } for t in trends]), hide_index=True, width="stretch", key="ind_trends")
    shown = st.multiselect("Indicator lines", list(ind.NAMES), key="ind_traj_shown",
                           default=["absolutist", "first_person", "negative_emotion", "valence", "hopelessness"],
                           format_func=lambda n: ind.SPECS[n].label)
    dates = [v["visit_date"] for v, _ in rows]
    bands = (ref or {}).get("indicators", {})
    cols = st.columns(2)
    for i, name in enumerate(shown):
        values = [(r["indicators"].get(name) or {}).get("value") for _, r in rows]
        with cols[i % 2]:
            st.plotly_chart(trajectory_figure(ind.SPECS[name], dates, values, bands.get(name)),
                            key=f"ind_traj_{name}", width="stretch")
    st.caption(visit_indicators.reference_note(ref) + " Gaps: the indicator has no value for that visit (not "
               "English, no words, or a third-person note for the pronoun indicator). Mention counts (sleep, "
               "appetite, energy, social) have no worse direction and never raise an alert.")
    st.plotly_chart(emotion_by_visit([(v["visit_date"], r["emotion"]["share"]) for v, r in rows if r.get("emotion")]),
                    key="ind_emotion_visits", width="stretch")
    newest = {a["visit_id"]: a for a in analyses if a["kind"] == "emotion"}  # rows come oldest first
    dated = sorted((v["visit_date"], v["id"]) for v in visits if v["id"] in newest)
    if dated:
        st.plotly_chart(emotion_by_visit([(d, newest[vid]["outputs"]["probabilities"]) for d, vid in dated],
                                         "Emotion by visit (language model, mean over sentences)"),
                        key="ind_emotion_visits_llm", width="stretch")
        st.caption("Word lists: share of each note by its sentences' dominant emotion. Language model: the mean "
                   "probability of each answer over the sentences, for the visits where it was run.")
