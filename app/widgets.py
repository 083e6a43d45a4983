"""Shared widgets: status lights, score charts, trajectories, evidence highlighting, provenance."""

from __future__ import annotations

import streamlit as st

from app.score_style import head_scores_chart  # noqa: F401  (one visual language for scores lives there)
from core.clinical.provenance import DISCLAIMER, signer
from core.models.reliability import probability_text


def provenance(analysis: dict) -> None:
    """Model, version, prompt version and sign-off state under every output."""
    bits = [f"model `{analysis['model_id']}`", f"version `{analysis['model_version']}`"]
    if analysis.get("prompt_version"):
        bits.append(f"prompt `{analysis['prompt_version']}`")
    state = ":material/verified: signed" if analysis["status"] == "signed" else "draft"
    if analysis["status"] == "signed":
        who = signer(analysis)
        state += f" by {who} {analysis['signed_at'][:16].replace('T', ' ')} UTC"
        if analysis.get("sign_note"):
            state += f" (note: {analysis['sign_note']})"
    st.caption(" · ".join(bits) + f" · {state} · {DISCLAIMER}")


SYNTHETIC_HEADS_NOTE = ("These heads were trained on synthetic counselling-session texts written by the project's "
                       "generator, not on clinical data: read the scores as a demonstration, not a measurement.")


def heads_trained_on_synthetic(info: dict) -> bool:
    """Whether a heads version's metadata (``core.models.info.heads_info``) says its training data was synthetic.

    ``metrics.json`` records the data source ("synthetic" or the file trained on); older versions without it
    fall back to the ``training_data`` line of ``config.json``.
    """
    source = ((info.get("metrics") or {}).get("data") or {}).get("source")
    if source:
        return source == "synthetic"
    return str((info.get("config") or {}).get("training_data", "")).lower().startswith("synthetic")


@st.cache_data(show_spinner=False)
def _version_synthetic(heads_dir: str, version: str, _settings) -> bool:
    # Keyed by folder and version: a version folder never changes once written.
    from core.errors import CoreError
    from core.models import info as model_info

    try:
        info = model_info.heads_info(_settings.replace(heads_dir=heads_dir, heads_version=version))
    except (CoreError, OSError):
        return False  # a version not on this machine (e.g. scored by a remote server): no metadata to read
    return heads_trained_on_synthetic(info)


def synthetic_heads_note(settings, version: str) -> None:
    """A caption under head scores when the heads version that produced them was trained on synthetic data."""
    if version and _version_synthetic(str(settings.heads_dir), version, settings):
        st.caption(f":material/science: {SYNTHETIC_HEADS_NOTE}")


def trajectory_chart(spec, dates: list[str], values: list[float], stds: list[float], reliability=None, extra=None):
    """One head over visit dates (see ``app.score_style.trajectory_chart``) on the visit-date axis."""
    from app.score_style import trajectory_chart as chart

    return chart(spec, dates, values, stds, reliability, extra, date_axis=_date_axis(dates),
                 labels=visit_labels([str(d)[:10] for d in dates]))


def _date_axis(dates: list[str]) -> dict:
    """Visit dates are days: never zoom to hours, and give visits on one or two days some room."""
    from datetime import date, timedelta

    axis: dict = {"type": "date", "tickformat": "%d %b %Y", "hoverformat": "%d %b %Y"}
    try:
        days = sorted(date.fromisoformat(str(d)[:10]) for d in dates)
    except ValueError:
        return axis
    if days and (days[-1] - days[0]).days < 7:
        axis["range"] = [str(days[0] - timedelta(days=7)), str(days[-1] + timedelta(days=7))]
        axis["dtick"] = 86_400_000 * 7  # a tick a week
    return axis


# Crisis language must stand out from evidence at a glance, not only on hover.
_MARK_STYLE = {"crisis": "background:#fecaca;color:#7f1d1d;font-weight:600;border-bottom:2px solid #b91c1c",
               "evidence": "background:#fef08a",
               "contradicts": "background:#e9d5ff;border-bottom:2px solid #7e22ce",
               # sentences a task head's label rests on (occlusion): the primary explanation
               "basis": "background:#bbf7d0;border-bottom:2px solid #15803d"}


# Every character Markdown, GitHub-flavoured Markdown, Streamlit's directives (:red[..], :material/..:) or LaTeX
# ($..$) could act on becomes a numeric entity, and every line break a <br>: no blank line can end the HTML block,
# so nothing from a note (or from model text quoting it) is ever interpreted, only shown.
_INERT = {ord(c): f"&#{ord(c)};" for c in "\\`*_{}[]()#+-.!|~<>&:$=\"'^%@/;?"}
_INERT.update({ord("\r"): "", ord("\n"): "<br>", ord("\t"): "&#9;"})


def md_escape(text: str) -> str:
    """``text`` for a Markdown-only element (st.error, st.warning): every ASCII punctuation character
    backslash-escaped (CommonMark shows it literally, and no directive or formula can start), lines joined."""
    joined = " ".join(line.strip() for line in str(text).splitlines() if line.strip())  # no indented code block
    return "".join("\\" + ch if ch in _PUNCTUATION else ch for ch in joined)


_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def inert(text: str) -> str:
    """HTML for ``text`` that Markdown renders exactly as typed (for st.markdown(..., unsafe_allow_html=True))."""
    return str(text).replace("\r\n", "\n").translate(_INERT)


def highlight(text: str, spans: list[tuple], styles: dict[str, str] | None = None) -> str:
    """HTML of ``text`` with (start, end, title[, kind]) spans marked; kind "crisis" (red), "contradicts" (purple),
    "basis" (green: what a task head's label rests on), "evidence" (yellow, the default), or a kind whose CSS
    ``styles`` gives. Crisis spans always stay visible: any other mark overlapping one is cut around it, whichever
    starts first; where other marks overlap, the earlier one wins (at the same start, contradicting sentences, then
    basis, then evidence). Everything from the note is made inert (``inert``): its Markdown and HTML are shown,
    never interpreted, and nothing it links to is fetched."""
    marks = [(s[0], s[1], s[2], s[3] if len(s) > 3 else "evidence") for s in spans if s[1] > s[0]]
    crisis = sorted((m for m in marks if m[3] == "crisis"), key=lambda m: m[0])
    pieces = []
    for start, end, title, kind in crisis:  # crisis among itself: first wins, later ones keep what is left
        if pieces and start < pieces[-1][1]:
            start = pieces[-1][1]
        if start < end:
            pieces.append((start, end, title, kind))
    for start, end, title, kind in marks:
        if kind == "crisis":
            continue
        parts = [(start, end)]
        for cs, ce, _, _ in crisis:  # other marks keep only what no crisis span covers
            parts = [(a, b) for s0, e0 in parts
                     for a, b in ((s0, min(e0, cs)), (max(s0, ce), e0)) if b > a]
        pieces += [(a, b, title, kind) for a, b in parts]
    rank = {"crisis": 0, "contradicts": 1, "basis": 2}
    out, pos = [], 0
    for start, end, title, kind in sorted(pieces, key=lambda m: (m[0], rank.get(m[3], 3))):
        if start < pos:
            start = pos  # overlapping non-crisis marks: the earlier one wins
        if start >= end:
            continue
        out.append(inert(text[pos:start]))
        out.append(f"<mark class='mhd-{kind}' title='{inert(title)}' "
                   f"style='{(styles or {}).get(kind) or _MARK_STYLE.get(kind, _MARK_STYLE['evidence'])}'>"
                   f"{inert(text[start:end])}</mark>")
        pos = end
    out.append(inert(text[pos:]))
    return "<div style='white-space:pre-wrap;line-height:1.5'>" + "".join(out) + "</div>"


def token_heat(pairs: list[tuple[str, float]]) -> str:
    """Token attributions as coloured text: red pushes the score up, blue down."""
    if not pairs:
        return ""
    top = max(abs(s) for _, s in pairs) or 1.0
    parts = []
    for tok, score in pairs:
        a = min(1.0, abs(score) / top)
        rgb = "185,28,28" if score > 0 else "29,78,216"
        parts.append(f"<span title='{score:+.3f}' style='background:rgba({rgb},{a:.2f});padding:0 1px'>"
                     f"{inert(tok)}</span>")
    return "<div style='line-height:1.9'>" + " ".join(parts) + "</div>"


def probabilities_chart(probs: dict[str, float]):
    """Label probabilities, most likely first."""
    import plotly.graph_objects as go

    items = sorted(probs.items(), key=lambda kv: -kv[1])
    fig = go.Figure(go.Bar(x=[p for _, p in items], y=[k for k, _ in items], orientation="h",
                           text=[probability_text(p) for _, p in items], textposition="auto",
                           marker_color="#1d4ed8"))
    fig.update_layout(height=90 + 28 * len(items), margin=dict(l=10, r=10, t=5, b=5),
                      xaxis=dict(range=[0, 1], title=dict(text="model probability (0–1)", font_size=11)),
                      yaxis=dict(autorange="reversed"))
    return fig


def visit_state(visit: dict, analyses: list[dict]) -> str:
    """One word for the timeline: crisis language first, then how far the outputs got."""
    if visit["crisis"].flagged:
        return "crisis language"
    if not analyses:
        return "not analysed"
    return "signed" if all(a["status"] == "signed" for a in analyses) else "draft outputs"


_TIMELINE_STYLE = {"crisis language": ("#b91c1c", "x"), "not analysed": ("#9ca3af", "circle-open"),
                   "draft outputs": ("#2563eb", "circle"), "signed": ("#15803d", "diamond")}


def visit_timeline_chart(visits: list[dict], by_visit: dict[int, list], mentions=()):
    """Every visit on one date axis, coloured by its state, so gaps and crises show at a glance; ``mentions``
    (``core.clinical.family.Mention``) add a marker above each visit whose note mentions a family history."""
    import plotly.graph_objects as go

    fig = go.Figure()
    # Several visits on one day stack upwards instead of hiding each other.
    level, seen = {}, {}
    for v in visits:
        level[v["id"]] = seen.get(v["visit_date"], 0)
        seen[v["visit_date"]] = level[v["id"]] + 1
    for state_name, (color, symbol) in _TIMELINE_STYLE.items():
        rows = [v for v in visits if visit_state(v, by_visit.get(v["id"], [])) == state_name]
        if not rows:
            continue
        fig.add_trace(go.Scatter(
            x=[v["visit_date"] for v in rows], y=[level[v["id"]] for v in rows], mode="markers", name=state_name,
            marker=dict(color=color, symbol=symbol, size=13, line=dict(width=2, color=color)),
            customdata=[[v["source"], len(v["text"].split())] for v in rows],
            hovertemplate="%{x|%d %b %Y} · %{customdata[0]} · %{customdata[1]} words<extra>" + state_name
                          + "</extra>",
        ))
    if mentions:
        fig.add_trace(go.Scatter(
            x=[m.visit_date for m in mentions], y=[level.get(m.visit_id, 0) + 0.45 for m in mentions],
            mode="markers", name="family history mentioned",
            marker=dict(color="#0072B2", symbol="star", size=12),
            customdata=[m.quote or "no quoting sentence found" for m in mentions],
            hovertemplate="%{x|%d %b %Y} · family history: %{customdata}<extra></extra>",
        ))
    fig.update_layout(height=130, margin=dict(l=10, r=10, t=10, b=10),
                      yaxis=dict(visible=False, range=[-1, max(seen.values(), default=1)]),
                      xaxis=_date_axis([v["visit_date"] for v in visits]),
                      legend=dict(orientation="h", y=-0.6), showlegend=True)
    return fig


def visit_labels(dates: list[str]) -> list[str]:
    """One label per visit: its date, numbered when the same date holds several visits ("2026-11-30 (2)")."""
    total = {d: dates.count(d) for d in dates}
    seen: dict[str, int] = {}
    out = []
    for d in dates:
        seen[d] = seen.get(d, 0) + 1
        out.append(f"{d} ({seen[d]})" if total[d] > 1 else d)
    return out


def plural(n: int, word: str, many: str | None = None) -> str:
    """ "1 visit", "2 visits": a count as a person writes it."""
    return f"{n} {word if n == 1 else (many or word + 's')}"
