"""The dashboard's model loaders turn every library error into a message on the page, never a crash."""

import pytest


def test_llm_with_device_cuda_and_no_gpu_is_a_message_not_an_exception(monkeypatch, tmp_path):
    import streamlit as st
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU, so device=cuda is valid here")
    monkeypatch.setenv("MHD_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("MHD_DEVICE", "cuda")
    st.cache_resource.clear()
    from app import resources

    try:
        assert resources.llm() is None
        assert resources.encoder() is None
    finally:
        st.cache_resource.clear()
