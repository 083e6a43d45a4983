"""Drift panel for the Models page: per-head PSI and KS of recent API predictions vs the version's reference."""

from __future__ import annotations

import streamlit as st

WINDOWS = {"Last 7 days": "7d", "Last 30 days": "30d", "Last 90 days": "90d"}
STATUS_HELP = ("PSI < 0.10 stable · 0.10-0.25 moderate shift · ≥ 0.25 major shift; a KS p-value below 0.01 also "
               "marks a moderate shift. Fewer than 100 recent texts say nothing yet.")


def render_drift(ctx) -> None:
    """Call from the Models page; needs models.read."""
    from core.errors import CoreError
    from core.serving import drift_report

    ctx.require("models.read")
    st.subheader("Drift of the psychosocial heads")
    label = st.selectbox("Window", list(WINDOWS), index=1, key="drift_window")
    try:
        with st.spinner("Comparing recent predictions with the reference…"):
            df = drift_report(ctx.settings, WINDOWS[label])
    except CoreError as exc:
        st.error(str(exc))
        return
    if df.empty:
        st.info("No predictions were served through the API in this window.")
        return
    st.caption(STATUS_HELP)
    shown = df.rename(columns={"n_recent": "recent texts", "n_reference": "reference texts", "psi": "PSI",
                               "ks_pvalue": "KS p-value", "ks_stat": "KS statistic"})
    st.dataframe(shown, hide_index=True, key="drift_table",
                 column_config={c: st.column_config.NumberColumn(format="%.3f")
                                for c in ("PSI", "KS statistic", "KS p-value", "recent_mean", "reference_mean")})
    if (df["status"] == "no reference").any():
        st.warning("Some versions have no saved reference distribution: run "
                   "`python -m core drift --build-reference VERSION`.")
