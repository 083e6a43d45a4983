"""No PHI in application logs from the API and the command line, not only from the Streamlit app.

Each test starts from a process without the redacting log-record factory (an earlier test may have installed
it), so it shows that the entry point itself installs it.
"""

from __future__ import annotations

import io
import logging
import types

import pytest
from fastapi.testclient import TestClient

from core.safety import deid

TOKEN = "test-token-" + "k" * 24
NAME, PHONE, EMAIL = "Maria Lopez", "555-123-4567", "maria.lopez@example.com"
PHI_TEXT = f"Mrs {NAME} can be reached on {PHONE} or {EMAIL}"


@pytest.fixture
def plain_logging(monkeypatch):
    """Logging as a fresh process has it: no redaction installed; restored afterwards."""
    factory = logging.getLogRecordFactory()
    monkeypatch.setattr(deid, "_installed", False)
    logging.setLogRecordFactory(logging.LogRecord)
    yield
    logging.setLogRecordFactory(factory)


@pytest.fixture
def captured():
    """Everything logged under ``mhdash``, formatted with tracebacks, unfiltered by the handler."""
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    logger = logging.getLogger("mhdash")
    logger.addHandler(handler)
    yield buf
    logger.removeHandler(handler)


def _assert_redacted(out: str) -> None:
    for secret in (NAME, PHONE, EMAIL):
        assert secret not in out, secret
    assert "[NAME]" in out and "[PHONE]" in out and "[EMAIL]" in out


def test_api_error_log_is_deidentified(plain_logging, captured, tmp_path):
    from api.main import create_app
    from core.errors import InferenceError
    from core.serving import ModelServer
    from core.settings import load_settings

    logging.getLogger("mhdash.api").error("before the app: %s", PHI_TEXT)
    assert NAME in captured.getvalue()  # nothing redacts yet: the check below can fail
    captured.truncate(0)
    captured.seek(0)

    def failing(encoder, texts, progress=None):  # the model boundary: the encoder chokes on this note
        raise InferenceError(f"could not score the note '{texts[0]}'")

    settings = load_settings(env={}, data_dir=tmp_path / "var", api_token=TOKEN)
    server = ModelServer(settings, load_encoder=lambda s: types.SimpleNamespace(model_id="enc"),
                         score_texts=failing)
    with TestClient(create_app(settings, server=server)) as client:
        r = client.post("/predict", json={"text": PHI_TEXT}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 500 and r.json()["detail"]["code"] == "inference_failed"
    out = captured.getvalue()
    assert "inference failed on /predict" in out  # the API's own error log line went through
    _assert_redacted(out)


def test_cli_logs_are_deidentified_tracebacks_included(plain_logging, captured, settings, monkeypatch):
    from core.cli import main

    monkeypatch.setenv("MHD_DATA_DIR", str(settings.data_dir))
    assert main(["review", "agreement", "--user", "nobody"]) == 2  # any command: the entry installs redaction
    log = logging.getLogger("mhdash.cli.test")
    try:
        raise ValueError(PHI_TEXT)
    except ValueError:
        log.exception("command failed for %s", NAME)
    out = captured.getvalue()
    assert "Traceback" in out
    _assert_redacted(out)
