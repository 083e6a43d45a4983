import csv
import io

import pytest

from core.clinical import export, patients
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
    # As on screen: a 95 % interval (1.96 x the spread here; never narrower than a known head error), no false
    # digits, the band; the probability never as "0.80" or "1.00".
    assert "Social isolation 3.1 (interval 2.7 to 3.5) · severely isolated" in md and "±" not in md
    assert "depression: **-yes** (p ≈ 0.8)" in md


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


def test_exports_name_who_signed(patient_with_outputs, users):
    ctx, pid = patient_with_outputs
    rows = list(csv.DictReader(io.StringIO(export.scores_csv(ctx, pid))))
    signed = next(r for r in rows if r["kind"] == "llm")
    draft = next(r for r in rows if r["kind"] == "heads")
    assert signed["signed_by"] == "psy" and signed["signed_at"]
    assert draft["status"] == "draft" and draft["signed_by"] == ""
    md = export.summary_markdown(ctx, pid)
    assert "prompt imhi-1, signed by psy 20" in md


def test_export_trajectory_reads_one_heads_result_per_visit_and_the_settings_window(settings, store, users):
    from tests.test_trends import store_heads

    ctx = Context(settings.replace(trend_window=3), store, users["psy"])
    pid = patients.create_patient(ctx, "P-UPG", consent_ml=True)
    vids = [patients.add_visit(ctx, pid, f"2026-0{m}-10", f"Visit {m}: keeps to herself.") for m in (1, 2, 3)]
    for version, iso in (("v20260101_000000", 1.0), ("v20260301_000000", 2.0)):  # a heads upgrade re-scored all
        for vid in vids:
            store_heads(store, vid, version, {"isolation": iso})
    md = export.summary_markdown(ctx, pid)
    iso_row = next(line for line in md.splitlines() if line.startswith("| Social isolation |"))
    assert iso_row == "| Social isolation | 2.0 · some isolation | 0.0 | steady |  |"
    assert "trend test over the last 3 scored visits" in md
    # The per-visit record and the CSV still list every stored result, each with its version.
    assert md.count("version v20260101_000000") == 3 and md.count("version v20260301_000000") == 3
    rows = list(csv.DictReader(io.StringIO(export.scores_csv(ctx, pid))))
    assert sorted({r["model_version"] for r in rows if r["kind"] == "heads"}) == ["v20260101_000000",
                                                                                   "v20260301_000000"]
