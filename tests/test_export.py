import csv
import io

import pytest

from core import export, patients
from core.context import Context
from core.errors import PermissionDenied
from core.storage import records
from core.storage.audit import list_events


@pytest.fixture
def patient_with_outputs(settings, store, users):
    ctx = Context(settings, store, users["psy"])
    pid = patients.create_patient(ctx, "P-EXP", consent_ml=True)
    vid = patients.add_visit(ctx, pid, "2026-02-01", "=HYPERLINK(\"x\") She wants to kill herself.")
    records.insert_analysis(store, visit_id=vid, kind="heads", task="heads", model_id="enc", model_version="v1",
                            outputs={"heads": {"isolation": {"value": 3.1, "std": 0.2}}})
    aid = records.insert_analysis(store, visit_id=vid, kind="llm", task="depression", model_id="llm",
                                  model_version="base+lora@abc", prompt_version="imhi-1",
                                  outputs={"label": "-yes", "probabilities": {"-yes": 0.8}, "rationale": "Low mood."})
    records.sign_analysis(store, aid, users["psy"].id)
    return ctx, pid


def test_markdown_summary_has_provenance_and_crisis(patient_with_outputs):
    ctx, pid = patient_with_outputs
    md = export.summary_markdown(ctx, pid)
    assert "Decision support, not a diagnosis" in md
    assert "CRISIS LANGUAGE" in md
    assert "model llm version base+lora@abc, prompt imhi-1, signed" in md
    assert "Social isolation 3.10±0.20" in md


def test_csv_is_formula_safe_and_pdf_is_a_pdf(patient_with_outputs, store):
    ctx, pid = patient_with_outputs
    rows = list(csv.DictReader(io.StringIO(export.scores_csv(ctx, pid))))
    llm = next(r for r in rows if r["kind"] == "llm")
    assert llm["label"] == "'-yes" and llm["status"] == "signed" and llm["prompt_version"] == "imhi-1"
    pdf = export.summary_pdf(ctx, pid)
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000
    formats = sorted(e["details"] for e in list_events(store, action="export.patient"))
    assert len(formats) == 2 and any('"pdf"' in f for f in formats) and any('"csv"' in f for f in formats)


def test_export_respects_roles(patient_with_outputs, settings, store, users):
    _, pid = patient_with_outputs
    with pytest.raises(PermissionDenied):
        export.summary_markdown(Context(settings, store, users["qa"]), pid)
    with pytest.raises(PermissionDenied):
        export.scores_csv(Context(settings, store, users["psy2"]), pid)
