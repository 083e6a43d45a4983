"""The dashboard's own background threads do not fill the server log with Streamlit's "missing ScriptRunContext"
warning; any other thread still gets it."""

import logging
import threading

from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from app import background  # noqa: F401  (installs the filter)


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _warnings_from_thread(name: str) -> list[str]:
    logger = logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context")
    handler = _Collect()
    logger.addHandler(handler)
    try:
        t = threading.Thread(target=get_script_run_ctx, name=name)
        t.start()
        t.join()
    finally:
        logger.removeHandler(handler)
    return [m for m in handler.messages if "missing ScriptRunContext" in m]


def test_own_background_threads_are_quiet():
    assert _warnings_from_thread("warmup-models") == []
    assert _warnings_from_thread("rationale-worker") == []


def test_other_threads_still_warn():
    assert len(_warnings_from_thread("someone-elses-thread")) == 1
