"""Models: which encoder/heads version and which LLM base/adapter are configured and loaded, with metrics."""

import streamlit as st

from app import resources, state
from app.evaluations_view import render_evaluations
from app.widgets import SYNTHETIC_HEADS_NOTE, heads_trained_on_synthetic
from core.models import info as model_info
from core.models.evaluations import recorded_evaluations

ctx = state.page(require="models.read")
st.title("Models")
with st.spinner("Reading the model files…"):
    info = state.call(model_info.describe, ctx)
if info is None:
    st.stop()
compute = info["compute"]
if compute["error"]:
    st.error(f"Device: {compute['error']}", icon=":material/memory:")
else:
    st.markdown(f"In-process models run on **{compute['device']}** ({compute['name']}; device setting "
                f"`{info['device']}`).")

enc, llm_cfg = info["encoder"], info["llm"]
left, right = st.columns(2)
with left:
    st.subheader("Encoder and heads")
    st.markdown(f"- Backbone: **{enc['backbone']}**\n- Runtime: `{enc['runtime']}` · device setting `{info['device']}`"
                + (f"\n- Remote server: `{enc['remote']}`" if enc["remote"] else ""))
    if enc["active"]:
        st.markdown(f"- Heads version in use: **{enc['active']}** (of {len(enc['versions'])} in `{enc['heads_dir']}`)")
        cfg = enc["config"]
        if cfg.get("training_data"):
            st.caption(f"Training data: {cfg['training_data']}")
        if heads_trained_on_synthetic(enc):
            st.warning(f"Heads {enc['active']}: {SYNTHETIC_HEADS_NOTE}", icon=":material/science:")
    else:
        st.error("No trained heads checkpoint is installed: the dashboard will not show head scores. "
                 "Train one with `python -m core train`.")
with right:
    st.subheader("Language model")
    st.markdown(f"- Base: **{llm_cfg['base']}**\n- Adapter: `{llm_cfg['adapter']}`"
                + (f" (digest `{llm_cfg['adapter_digest']}`)" if llm_cfg["adapter_digest"] else "")
                + f"\n- Quantization: `{llm_cfg['quantization']}` · merged: `{llm_cfg['merge_adapter']}`"
                + (f"\n- Remote server: `{llm_cfg['remote']}`" if llm_cfg["remote"] else ""))
    ac = llm_cfg["adapter_config"]
    if ac:
        st.caption(f"LoRA r={ac.get('r')} alpha={ac.get('lora_alpha')} dropout={ac.get('lora_dropout')} "
                   f"targets={ac.get('target_modules')}")
    if llm_cfg["evaluation"]:
        with st.expander("Adapter evaluation (IMHI)"):
            st.markdown(llm_cfg["evaluation"])

evaluations = state.call(recorded_evaluations, ctx)
if evaluations is not None:
    render_evaluations(evaluations)

st.subheader("Loaded in this process")
if st.button("Load and check the models", key="models_check", icon=":material/memory:"):
    with st.status("Loading models…", expanded=True) as status:
        e = resources.encoder()
        if e is not None:
            st.write(f"Encoder `{e.model_id}` heads `{e.version}` on `{e.device}`")
        m = resources.llm()
        if m is not None:
            st.write(f"LLM `{m.model_id}` version `{m.version}` on `{m.device}`")
        status.update(label="Models checked", state="complete")

try:
    from app.drift_panel import render_drift
except ImportError:
    render_drift = None
if render_drift is not None and ctx.user.can("cohort.read"):
    st.subheader("Drift")
    render_drift(ctx)
