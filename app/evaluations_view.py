"""The Models page's recorded evaluations: tables, axis-titled charts, and a glossary of dataset names."""

from __future__ import annotations

import pandas as pd
import streamlit as st


def loss_chart(history: list[dict]):
    import plotly.graph_objects as go

    fig = go.Figure()
    for col, name in (("train_loss", "training"), ("val_loss", "validation")):
        fig.add_trace(go.Scatter(x=[h["epoch"] for h in history], y=[h[col] for h in history], name=name,
                                 mode="lines+markers"))
    fig.update_layout(height=240, margin=dict(l=10, r=10, t=10, b=10), xaxis_title="epoch",
                      yaxis_title="loss (sum over the five heads)", legend=dict(orientation="h", y=-0.35))
    return fig


def external_chart(checks: list[dict], floor: float):
    import plotly.graph_objects as go

    names = [f"{c['head']} · {c['label']}" for c in checks]
    fig = go.Figure(go.Bar(
        x=[c["auroc"] for c in checks], y=names, orientation="h",
        marker_color=["#009E73" if c["adequate"] else "#E69F00" for c in checks],
        error_x=dict(type="data", symmetric=False, array=[c["ci_high"] - c["auroc"] for c in checks],
                     arrayminus=[c["auroc"] - c["ci_low"] for c in checks], color="#222"),
        hovertemplate="%{y}: AUROC %{x:.2f}<extra></extra>"))
    fig.add_vline(x=floor, line_dash="dash", annotation_text=f"{floor:.2f}: drives patient status",
                  annotation_position="top")
    fig.add_vline(x=0.5, line_dash="dot", annotation_text="chance", annotation_position="bottom")
    fig.update_layout(height=80 + 40 * len(checks), margin=dict(l=10, r=10, t=30, b=10),
                      xaxis=dict(range=[0.4, 1.0], title="AUROC on real text (0.5 = chance), 95% interval"))
    return fig


def llm_chart(rows: list[dict]):
    import plotly.graph_objects as go

    fig = go.Figure()
    for col, colour in (("majority class", "#BBBBBB"), ("base model", "#56B4E9"), ("adapted model", "#0072B2")):
        fig.add_trace(go.Bar(x=[r["dataset"] for r in rows], y=[r[col] for r in rows], name=col,
                             marker_color=colour))
    fig.update_layout(barmode="group", height=260, margin=dict(l=10, r=10, t=10, b=10),
                      xaxis_title="IMHI test dataset", yaxis=dict(range=[0, 1], title="weighted F1 (0–1)"),
                      legend=dict(orientation="h", y=-0.3))
    return fig


def render_evaluations(data: dict) -> None:
    st.subheader("Recorded evaluations")
    heads = data["heads"]
    if heads["version"]:
        st.markdown(f"**Heads {heads['version']}**")
        src = heads["data"]
        split = src.get("split") or {}
        st.caption(f"Held-out test split of the training data ({src.get('source', 'unknown source')}, "
                   f"{split.get('test', '?')} texts): errors in each head's own units.")
        if heads["test"]:
            st.dataframe(pd.DataFrame(heads["test"]), hide_index=True, width="stretch", key="eval_heads_test")
        if heads["history"]:
            st.plotly_chart(loss_chart(heads["history"]), key="eval_heads_loss", width="stretch")
        if heads["external"]:
            st.markdown("**Heads on real text** (text nobody on the project wrote; never trained on)")
            table = pd.DataFrame([{"head": c["head"], "real label": c["label"], "source": c["source"],
                                   "n (positives)": f"{c['n']} ({c['positives']})", "AUROC": c["auroc"],
                                   "95% interval": f"{c['ci_low']:.2f}–{c['ci_high']:.2f}",
                                   "drives patient status": "yes" if c["adequate"] else "no"}
                                  for c in heads["external"]])
            st.dataframe(table, hide_index=True, width="stretch", key="eval_heads_external")
            st.plotly_chart(external_chart(heads["external"], data["min_external_auroc"]),
                            key="eval_heads_external_chart", width="stretch")
        else:
            st.info("No real-text evaluation is recorded for this heads version, so no head drives a patient's "
                    "status. Record one with `python -m core evaluate-heads --record`.", icon=":material/info:")
    llm = data["llm"]
    if llm["datasets"]:
        st.markdown(f"**Language-model adapter on IMHI** ({llm['metric']}; up to {llm['limit']} posts per "
                    f"dataset; recorded {str(llm['created_at'])[:10]})")
        st.dataframe(pd.DataFrame(llm["datasets"]), hide_index=True, width="stretch", key="eval_llm",
                     column_config={c: st.column_config.NumberColumn(format="%.2f")
                                    for c in ("majority class", "base model", "adapted model")})
        st.plotly_chart(llm_chart(llm["datasets"]), key="eval_llm_chart", width="stretch")
        weak = [r["dataset"] for r in llm["datasets"] if not r["beats both baselines"]]
        if weak:
            st.warning(f"On {', '.join(weak)} the adapter does not beat both baselines: answers of those tasks carry "
                       "a note saying so.", icon=":material/warning:")
    else:
        st.caption("No language-model evaluation is recorded beside the configured adapter.")
    if data["task_heads"]:
        st.markdown("**Task heads**")
        st.dataframe(pd.DataFrame(data["task_heads"]), hide_index=True, width="stretch", key="eval_task_heads")
    with st.expander("Glossary of dataset and metric names", icon=":material/menu_book:"):
        st.markdown("\n".join(f"- **{k}**: {v}" for k, v in data["glossary"].items()))
