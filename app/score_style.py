"""One visual language for scores: band colours, honest intervals, scales with units, status markers.

Every chart and list that shows a head score takes its colours, rounding and wording from here, so a bar,
a trajectory point and a table cell of the same value always agree with the band they sit in.

Palette: Okabe-Ito (readable with the common colour-vision deficiencies). The least concerning band is
bluish green, then yellow, orange and reddish purple. Red is not on it: red belongs to the crisis net only.
"""

from __future__ import annotations

import html

from core.models.heads import HEADS, band_help, get_head, severity_rank
from core.models.reliability import HeadReliability, reading

# Okabe-Ito, least to most concerning. Red (#b91c1c) is reserved for crisis language.
SEVERITY_COLOURS = ("#009E73", "#F0E442", "#E69F00", "#CC79A7")
# Family history is a fact mentioned or not, not a severity: greys and blues.
FACT_COLOURS = ("#BBBBBB", "#56B4E9", "#0072B2")
CRISIS_RED = "#b91c1c"


def band_colour(spec, index: int) -> str:
    """The colour of band ``index`` of a head (its severity rank mapped onto the palette)."""
    if spec.name == "family_history":
        return FACT_COLOURS[min(index, len(FACT_COLOURS) - 1)]
    return SEVERITY_COLOURS[min(severity_rank(spec, index), len(SEVERITY_COLOURS) - 1)]


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def scale_title(spec) -> str:
    """The axis title of a head: what the number is, its range, and which way is worse."""
    if spec.name == "family_history":
        return "probability the note mentions a family history (0–1)"
    worse = "higher = worse" if spec.worse_when == "high" else "lower = worse"
    return f"{spec.label} score, {spec.low:g} to {spec.high:g} ({worse})"


def describe(spec, value: float, std: float | None, rel: HeadReliability | None) -> dict:
    """Band, colour, interval and confidence of one head value: the data behind every rendering."""
    iv, idx = reading(spec.name, value, std, rel.test_error if rel else None)
    label = spec.bands[idx][1]
    return {"head": spec.name, "label": spec.label, "value": value, "band": label, "band_index": idx,
            "colour": band_colour(spec, idx), "interval": iv, "confidence": iv.confidence,
            "help": band_help(spec, label)}


def _error_note(rel: HeadReliability | None) -> str:
    if rel and rel.test_error:
        return ("Each interval is 95% and never narrower than that head's mean error on held-out synthetic texts; "
                "on real notes the error is likely larger.")
    return "The interval is the model's own 95% spread (repeated passes with dropout)."


def head_rows(outputs: dict, reliability: dict[str, HeadReliability] | None = None) -> list[dict]:
    rows = []
    for spec in HEADS:
        h = (outputs.get("heads") or {}).get(spec.name)
        if h is not None:
            rows.append(describe(spec, h["value"], h.get("std"), (reliability or {}).get(spec.name)))
    return rows


def head_scores_chart(outputs: dict, reliability: dict[str, HeadReliability] | None = None):
    """One row per head on its own scale (axis titled with range and direction), bar coloured by its band,
    the bands shaded behind, and the honest 95% interval as the error bar."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = head_rows(outputs, reliability)
    fig = make_subplots(rows=max(1, len(rows)), cols=1, vertical_spacing=0.16 if len(rows) > 1 else 0.0)
    for i, r in enumerate(rows, start=1):
        spec, iv = get_head(r["head"]), r["interval"]
        lower = spec.low
        for j, (upper, _) in enumerate(spec.bands):
            fig.add_vrect(x0=lower, x1=upper, fillcolor=_rgba(band_colour(spec, j), 0.18), line_width=0,
                          layer="below", row=i, col=1)
            lower = upper
        tick = f"{spec.label}: {r['band']}"
        fig.add_trace(go.Bar(
            x=[r["value"] - spec.low], base=[spec.low], y=[tick], orientation="h", width=0.6,
            marker=dict(color=r["colour"], line=dict(color="#333", width=1)),
            error_x=dict(type="data", symmetric=False, array=[iv.high - r["value"]],
                         arrayminus=[r["value"] - iv.low], color="#222", thickness=1.5, width=6),
            customdata=[[iv.text, r["band"], r["confidence"], r["help"]]],
            hovertemplate="%{customdata[0]} · %{customdata[1]} · %{customdata[2]} confidence<br>"
                          "%{customdata[3]}<extra></extra>",
            showlegend=False,
        ), row=i, col=1)
        fig.update_xaxes(range=[spec.low, spec.high], title_text=scale_title(spec), title_font_size=11,
                         tickvals=[spec.low, *[u for u, _ in spec.bands]], row=i, col=1)
        fig.update_yaxes(tickfont_size=12, row=i, col=1)
    fig.update_layout(height=95 * max(1, len(rows)) + 20, margin=dict(l=10, r=10, t=10, b=10), bargap=0.2)
    return fig


def scores_summary_html(outputs: dict, reliability: dict[str, HeadReliability] | None = None) -> str:
    """The same scores as text: value with its interval, band (hover: meaning and source), confidence."""
    items = []
    for r in head_rows(outputs, reliability):
        spec, iv = get_head(r["head"]), r["interval"]
        swatch = (f"<span style='display:inline-block;width:0.8em;height:0.8em;background:{r['colour']};"
                  "border:1px solid #333;margin-right:4px'></span>")
        band = (f"<abbr class='mhd-band' data-colour='{r['colour']}' title='{html.escape(r['help'], quote=True)}' "
                f"style='text-decoration:underline dotted;cursor:help'>{html.escape(r['band'])}</abbr>")
        items.append(f"<li>{swatch}<b>{html.escape(spec.label)}</b> {iv.text} on a scale of {spec.low:g} to "
                     f"{spec.high:g} · {band} · {r['confidence']} confidence</li>")
    note = _error_note(next(iter((reliability or {}).values()), None))
    return ("<ul style='list-style:none;padding-left:0;margin:0'>" + "".join(items) + "</ul>"
            f"<div style='font-size:0.8em;color:#555'>Hover a band name for its meaning and source. {note}</div>")


def trajectory_chart(spec, dates: list[str], values: list[float], stds: list[float],
                     reliability: HeadReliability | None = None, extra=None, date_axis=None,
                     labels: list[str] | None = None):
    """One head over visit dates: bands shaded in their colours, each point in its band's colour, honest
    intervals as error bars, both axes titled."""
    import plotly.graph_objects as go

    fig = go.Figure()
    lower = spec.low
    for j, (upper, label) in enumerate(spec.bands):
        fig.add_hrect(y0=lower, y1=upper, fillcolor=_rgba(band_colour(spec, j), 0.22), line_width=0, layer="below",
                      annotation_text=label, annotation_position="top left", annotation_font_size=10)
        lower = upper
    described = [describe(spec, v, s, reliability) for v, s in zip(values, stds)]
    fig.add_trace(go.Scatter(
        x=dates, y=values, mode="lines+markers", name=spec.label, line=dict(color="#555", width=1.5),
        marker=dict(color=[d["colour"] for d in described], size=11, line=dict(color="#333", width=1)),
        error_y=dict(type="data", symmetric=False, array=[d["interval"].high - d["value"] for d in described],
                     arrayminus=[d["value"] - d["interval"].low for d in described], thickness=1, color="#444"),
        # labels: the visit named in the hover ("2026-11-30 (2)" when one date holds several visits)
        customdata=[[d["interval"].text, d["band"], d["confidence"], label]
                    for d, label in zip(described, labels or [str(x)[:10] for x in dates])],
        hovertemplate="%{customdata[3]}: %{customdata[0]} · %{customdata[1]} · %{customdata[2]} confidence"
                      "<extra></extra>",
    ))
    if extra:
        for name, (xs, ys) in extra.items():
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=name, yaxis="y2",
                                     line=dict(dash="dot", color="#0072B2")))
        fig.update_layout(yaxis2=dict(overlaying="y", side="right", range=[0, 1], title="probability (0–1)"))
    fig.update_layout(height=280, margin=dict(l=10, r=10, t=30, b=10), title=spec.label,
                      yaxis=dict(range=[spec.low, spec.high], title=dict(text=scale_title(spec), font_size=10)),
                      showlegend=bool(extra), xaxis={**(date_axis or {}), "title": "visit date"})
    return fig


CONFIDENCE_HELP = ("The model's own confidence (highest label probability, or the spread of the head scores), in "
                   "words: low below 0.6, medium below 0.85, high above. It is the model's self-estimate, not a "
                   "measured accuracy.")


def confidence_word(confidence: float | None) -> str:
    """A review item's confidence (``core.review.items.confidence_of``) in words, never as two decimals."""
    if confidence is None:
        return "—"
    return "low" if confidence < 0.6 else "medium" if confidence < 0.85 else "high"


# ---------------------------------------------------------------- status markers (no emoji: shape + colour + text)
STATUS_MARKERS = {
    # reason: (shape, colour, text)
    "crisis": ("▲", CRISIS_RED, "crisis language"),
    "qa_flag": ("■", "#D55E00", "QA flag"),
    "worsening": ("◆", "#CC79A7", "worsening"),
    "unsigned": ("●", "#0072B2", "awaiting sign-off"),
    # Shown, never a reason for attention: what was seen and dealt with, and what was not looked at.
    "acknowledged": ("△", "#8B3A3A", "crisis language, acknowledged"),
    "not_analysed": ("◌", "#666666", "not analysed"),
    "none": ("○", "#666666", "no concern found"),
}

STATUS_LEGEND = {
    "crisis": "Crisis language in a note that the care team has not acknowledged (keyword safety net, "
              "independent of every model).",
    "qa_flag": "A QA reviewer flagged one of this patient's outputs and the flag is still open.",
    "worsening": "A worsening trend beyond the model's uncertainty on a signal that ranks real text adequately "
                 "(recorded external AUROC of at least 0.70).",
    "unsigned": "Outputs awaiting sign-off (not a clinical concern by itself).",
    "acknowledged": "Crisis language in a note that the care team has acknowledged: not a new alert, but never "
                    "'no concern'. The acknowledgement and its note are on the patient's page.",
    "not_analysed": "No visit has model scores (not analysed yet, or no consent to ML analysis), so no trend "
                    "could be read; only the crisis check has read the notes.",
    "none": "None of the reasons above. This does not mean the patient is well: only these signals were checked.",
}


def status_markers(row: dict) -> list[str]:
    """What the patient list says of a patient (``core.clinical.cohort.summarise_patients`` row): the reasons for
    attention, then an acknowledged crisis; "not analysed" or "no concern found" only when nothing else applies."""
    shown = list(row["reasons"])
    if row.get("crisis_acknowledged") and "crisis" not in shown:
        shown.append("acknowledged")
    if not shown:
        shown.append("none" if row.get("analysed", True) else "not_analysed")
    return shown


def marker_text(reason: str) -> str:
    shape, _, text = STATUS_MARKERS.get(reason, STATUS_MARKERS["none"])
    return f"{shape} {text}"


def marker_html(reason: str) -> str:
    shape, colour, text = STATUS_MARKERS.get(reason, STATUS_MARKERS["none"])
    return (f"<span class='mhd-status' data-reason='{reason}' style='color:{colour};font-weight:600'>{shape}</span> "
            f"{html.escape(text)}")


def legend_html(reasons=("crisis", "qa_flag", "worsening", "acknowledged", "not_analysed", "none")) -> str:
    return "<div style='font-size:0.85em'>" + " &nbsp; ".join(
        f"<span title='{html.escape(STATUS_LEGEND[r], quote=True)}'>{marker_html(r)}</span>" for r in reasons
    ) + "</div>"
