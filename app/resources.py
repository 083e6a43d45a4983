"""Models, loaded once per process. Core exposes plain load_* functions; caching happens here."""

from __future__ import annotations

import threading

import streamlit as st

from app.state import settings
from core.errors import CoreError, ModelUnavailable
from core.serving.warmup import model_library_imports


@st.cache_resource(show_spinner="Loading the encoder and heads…")
def _encoder():
    model_library_imports()  # one thread at a time (the language model warms up in another)
    from core.backends import load_encoder  # the API server when encoder_url is set, else in-process

    loaded = load_encoder(settings())
    _encoder_loaded.set()
    return loaded


_encoder_loaded = threading.Event()  # set once the encoder is in memory (whichever thread loaded it)


def encoder_loaded() -> bool:
    """True once the encoder is in memory; before that, asking for it waits on the load (the start-up warm-up)."""
    return _encoder_loaded.is_set()


@st.cache_resource(show_spinner=False)
def _embedder():
    model_library_imports()  # one thread at a time (the language model warms up in another)
    from core.llm.evidence import load_sentence_embedder

    return load_sentence_embedder(settings())


def encoder():
    """The encoder, or None with the reason shown to the user."""
    try:
        return _encoder()
    except CoreError as exc:  # missing files, a wrong device, a remote server down: a message, never a crash
        st.warning(str(exc), icon=":material/warning:")
        return None


def encoder_if_ready():
    """The encoder, or None without a message (for optional work such as scoring the demo cohort)."""
    try:
        return _encoder()
    except CoreError:
        return None


def llm():
    """The language model, or None with the reason shown (ModelUnavailable, ConfigError such as device=cuda without
    a GPU, QuantizationUnavailable, AdapterMismatch: every library error).

    It loads once per process in the background (``app.background``, started with the app); a caller that needs it
    before it is ready waits with a notice that says so, with the seconds so far."""
    from app import background

    warm = background.llm_warmup()
    if not warm.finished(0):
        with st.status("The language model is still warming up…", expanded=True) as status:
            bar = st.progress(0.0)
            warm.start()
            while not warm.finished(1.0):
                p = warm.progress()
                bar.progress(p if p is not None else 0.0, text=warm.describe())
            status.update(label="Language model ready" if warm.state == "ready" else "Language model unavailable",
                          state="complete" if warm.state == "ready" else "error", expanded=False)
    try:
        return warm.wait()
    except CoreError as exc:
        st.warning(str(exc), icon=":material/warning:")
        return None


def embedder():
    try:
        return _embedder()
    except CoreError:
        return None


@st.cache_resource(show_spinner="Loading the IMHI task heads…")
def _task_heads():
    model_library_imports()  # one thread at a time (the language model warms up in another)
    from core.models.task_heads import load_task_heads

    return load_task_heads(settings(), _encoder())


def task_heads():
    """The IMHI task heads on the loaded encoder, or None with the reason shown (their tasks then take the
    language model's label, with its reliability note)."""
    enc = encoder()
    if enc is None:
        return None
    try:
        return _task_heads()
    except ModelUnavailable as exc:
        st.warning(f"Task heads not loaded, so labels come from the language model: {exc}",
                   icon=":material/warning:")
        return None
