"""The drift panel the Models page calls (app/drift_panel.py), smoke-run with AppTest on logged predictions."""

from __future__ import annotations

import numpy as np

SCRIPT = """
import os
from core.security.auth import User
from core.context import Context
from core.settings import load_settings
from core.storage import open_store
from app.drift_panel import render_drift
s = load_settings()
render_drift(Context(settings=s, store=open_store(s.database), user=User(1, "lead", "Lead", "clinical_lead")))
"""


def test_panel_shows_a_row_per_head_and_flags_missing_references(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from core import serving
    from core.models.heads import HEAD_NAMES
    from core.settings import load_settings
    from core.storage import open_store

    monkeypatch.setenv("MHD_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("MHD_HEADS_DIR", str(tmp_path / "heads"))
    settings = load_settings()
    vdir = tmp_path / "heads" / "v20250101_000000"
    vdir.mkdir(parents=True)
    rng = np.random.default_rng(0)
    serving.save_reference(vdir, {n: rng.normal(0.5, 0.1, 500).tolist() for n in HEAD_NAMES}, "test")
    store = open_store(settings.database)
    rows = [{"endpoint": "predict", "text_hash": f"{i:064x}", "model_version": v, "latency_ms": 1.0, "caller": "t",
             "outputs": {"heads": {n: {"value": float(rng.normal(0.5, 0.1)), "std": 0.0} for n in HEAD_NAMES}}}
            for i in range(60) for v in ("v20250101_000000", "v20250102_000000")]
    serving.log_predictions(store, rows)
    store.close()
    script = tmp_path / "panel.py"
    script.write_text(SCRIPT)
    at = AppTest.from_file(str(script), default_timeout=60).run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert len(table) == 2 * len(HEAD_NAMES)
    assert set(table["status"]) == {"too few predictions", "no reference"}
    assert "build-reference" in at.warning[0].value
