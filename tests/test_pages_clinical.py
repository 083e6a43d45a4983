"""AppTest of the clinical pages: patients, patient, cohort — per role and state."""

import html as htmllib
import re

import pytest

from core.clinical import patients

CRISIS_NOTE = "Session 4. Says she wants to kill herself and has been stockpiling pills."


def texts(at) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.title] + [e.value for e in at.caption]
    parts += [e.value for e in at.error] + [e.value for e in at.info] + [e.value for e in at.warning]
    parts += [e.value for e in at.success]
    return "\n".join(str(p) for p in parts)


def test_no_page_renders_before_login(app_env):
    for page in ["pages/patients.py", "pages/patient.py", "pages/cohort.py"]:
        at = app_env.page(page, None).run()
        assert not at.exception
        assert [b.label for b in at.button] == ["Log in"]
        assert "Patients" not in [t.value for t in at.title]


def test_patients_page_empty_then_create(app_env):
    at = app_env.page("pages/patients.py", "psy").run()
    assert not at.exception
    assert "No patients yet." in texts(at)
    at.text_input(key="new_pseudonym").input("P-100")
    at.checkbox(key="new_consent").check()
    at.button[-1].click()  # the form's submit button
    at.run()
    assert not at.exception
    page = patients.list_patients(app_env.ctx("psy"))
    assert [r["pseudonym"] for r in page.rows] == ["P-100"] and page.rows[0]["consent_ml"] == 1
    # Create-patient lands on the new patient (a page run alone cannot switch pages: the state says where to go).
    assert at.session_state["patient_id"] == page.rows[0]["id"]
    opened = app_env.page("pages/patient.py", "psy", patient_id=at.session_state["patient_id"],
                          flash=at.session_state["flash"]).run()
    assert not opened.exception
    assert "P-100" in [t.value for t in opened.title]
    assert "Created P-100. Add the first visit under *Add visits*." in texts(opened)


def test_clinical_screens_use_clinical_names_not_dataset_names():
    from app.visit_view import task_title

    assert task_title("depression") == "Depression"
    assert task_title("stress") == "Stress"
    assert task_title("depression_cause") == "Cause of depression"
    assert task_title("irf_thwarted_belongingness") == "Interpersonal risk: thwarted belongingness"


def test_patient_page_without_consent_says_why(app_env):
    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-1", consent_ml=False)
    patients.add_visit(ctx, pid, "2026-01-05", "Low mood.")
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not at.exception
    assert "not consented to ML analysis" in texts(at)
    assert not any(b.key == "analyse_all" for b in at.button)


def test_crisis_banner_needs_acknowledgement_and_is_logged(app_env):
    from core.storage.audit import list_events

    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-1", consent_ml=True)
    vid = patients.add_visit(ctx, pid, "2026-01-05", CRISIS_NOTE)
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert "Crisis language detected" in texts(at)
    at.button(key=f"ack_{vid}").click().run()
    assert not at.exception
    assert "acknowledged" in texts(at)
    assert list_events(app_env.store, action="crisis.acknowledge")


def test_other_psychiatrists_patient_is_refused(app_env):
    pid = patients.create_patient(app_env.ctx("psy"), "P-1", consent_ml=True)
    at = app_env.page("pages/patient.py", "psy2", patient_id=pid).run()
    assert not at.exception
    assert "another psychiatrist" in texts(at)


def test_add_visit_by_paste_and_empty_note_refused(app_env):
    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-1", consent_ml=True)
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    at.text_area(key="paste_text").input("   ")
    next(b for b in at.button if b.label == "Add visit").click()
    at.run()
    assert "The note is empty." in texts(at)
    at.text_area(key="paste_text").input("Sleeping better; saw friends twice this week.")
    next(b for b in at.button if b.label == "Add visit").click()
    at.run()
    assert not at.exception
    assert [v["text"] for v in patients.list_visits(ctx, pid)] == ["Sleeping better; saw friends twice this week."]


@pytest.mark.parametrize("role,allowed", [("lead", True), ("psy", False), ("qa", False)])
def test_cohort_page_by_role(app_env, role, allowed):
    at = app_env.page("pages/cohort.py", role).run()
    assert not at.exception
    if allowed:
        assert any(m.label == "Patients" for m in at.metric)
    else:
        assert "does not allow" in texts(at)


def test_demo_cohort_lists_synthetic_patients(app_env):
    at = app_env.page("pages/patients.py", "lead", demo_mode=True).run()
    assert not at.exception
    df = at.dataframe[0].value
    assert len(df) == 12 and df["Pseudonym"].str.startswith("DEMO-").all()


def test_patient_page_says_when_no_trained_heads_are_installed(app_env, tmp_path, monkeypatch):
    monkeypatch.setenv("MHD_HEADS_DIR", str(tmp_path / "no-heads"))
    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-1", consent_ml=True)
    patients.add_visit(ctx, pid, "2026-01-05", "Low mood.")
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not at.exception
    assert "No trained heads checkpoint is installed" in texts(at)
    assert not any(b.key == "analyse_all" for b in at.button)


@pytest.mark.slow
def test_analyse_with_the_real_encoder_shows_scores_and_trajectories(app_env):
    from core.clinical import analysis

    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-1", consent_ml=True)
    patients.add_visit(ctx, pid, "2026-01-05", "Sees friends every weekend; partner is very supportive.")
    patients.add_visit(ctx, pid, "2026-02-05", "Has cut off everyone, stays alone all week, nobody to turn to.")
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    at.button(key="analyse_all").click().run(timeout=300)
    assert not at.exception
    rows = analysis.patient_analyses(ctx, pid)
    assert [a["kind"] for a in rows] == ["heads", "heads"]
    assert all(a["model_version"].startswith("v") for a in rows)
    charts = at.get("plotly_chart")
    assert len(charts) >= 1 + 5  # the latest visit's scores and one trajectory per head
    # A rerun recomputes nothing: results are stored.
    at.button(key="analyse_all").click().run(timeout=300)
    assert len(analysis.patient_analyses(ctx, pid)) == 2
    iso = [a["outputs"]["heads"]["isolation"]["value"] for a in rows]
    assert iso[1] > iso[0], "the isolated note should score higher on isolation"


# ------------------------------------------------------------ per-visit features on stored results
LLM_ID = "embedded:SmolLM2-135M-Instruct"
ADAPTER_HASH = "3f9a1c2b7d4e8a6b5c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b"
LLM_VERSION = f"{LLM_ID}+lora-smollm2-imhi@{ADAPTER_HASH[:12]}"
NOTE = ("Says she has felt hopeless for most of the last month. Has stopped going to work and lies in bed "
        "until noon. Her sister visits on Sundays.")
SUPPORTED = "The poster describes hopelessness lasting weeks."
UNSUPPORTED = "She mentions a history of gambling debts."


def store_llm_result(app_env, visit_id: int, text: str, rationale: str) -> int:
    """An LLM task result as ``core.clinical.analysis.run_llm_task`` stores it: ``answers.analyze`` outputs plus the
    evidence the real sentence encoder links, under the same cache key."""
    from types import SimpleNamespace

    from core.llm import answers
    from core.llm.evidence import link_evidence
    from core.storage import records

    outputs = {"task": "depression", "prompt_version": "imhi-1", "model_id": LLM_ID, "model_version": LLM_VERSION,
               "adapter_hash": ADAPTER_HASH, "label": "yes", "probabilities": {"yes": 0.81, "no": 0.19},
               "rationale": rationale, "truncated": False, "notes": [], "prompt_tokens": 64, "seconds": 4.2,
               "label_sentence": "Yes, the poster suffers from depression.", "rationale_tokens": 31,
               "evidence": link_evidence(rationale, text, settings=app_env.settings)}
    key = answers.cache_key(SimpleNamespace(model_id=LLM_ID, adapter_hash=ADAPTER_HASH), "depression", text)
    records.cache_put(app_env.store, key, "llm", outputs)
    return records.insert_analysis(app_env.store, visit_id=visit_id, kind="llm", task="depression", outputs=outputs,
                                   model_id=LLM_ID, model_version=LLM_VERSION, prompt_version="imhi-1",
                                   cache_key=key, duration_ms=4200.0, created_by=app_env.users["psy"].id)


def shipped_heads_version(settings) -> str:
    from core.models import registry as model_registry

    return model_registry.resolve_version(settings.heads_dir, "latest")


def scored_patient(app_env, *, consent=True, rationale=f"{SUPPORTED} {UNSUPPORTED}"):
    """A patient with one visit, scored by the shipped heads and answered by the LLM."""
    from tests.test_trends import store_heads

    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-1", consent_ml=consent)
    vid = patients.add_visit(ctx, pid, "2026-01-05", NOTE)
    heads_id = store_heads(app_env.store, vid, shipped_heads_version(app_env.settings), user_id=app_env.users["psy"].id)
    llm_id = store_llm_result(app_env, vid, NOTE, rationale)
    return pid, vid, heads_id, llm_id


def test_llm_result_highlights_evidence_marks_unsupported_claims_and_names_its_models(app_env):
    pid, _, heads_id, _ = scored_patient(app_env)
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not at.exception
    shown = texts(at)
    # Note and model text reach the page inert (every Markdown character an HTML entity): unescape to read them.
    readable = htmllib.unescape(shown)
    assert (f"<mark class='mhd-evidence' title='supports: {SUPPORTED}' style='background:#fef08a'>"
            "Says she has felt hopeless for most of the last month.</mark>" in readable)
    assert f"⚠️ *No support in the note:* {UNSUPPORTED}" in readable
    [note] = [m.value for m in at.markdown if m.value.startswith("<div style='white-space:pre-wrap")]
    assert note.count("<mark") == 1  # only supported claims point into the note
    assert "1 of 2 rationale claims have support in the note." in shown
    assert (f"model `{LLM_ID}` · version `{LLM_VERSION}` · prompt `imhi-1` · draft · "
            "Decision support, not a diagnosis.") in shown
    version = shipped_heads_version(app_env.settings)
    assert (f"model `multitask:embedded:all-MiniLM-L6-v2` · version `{version}` · draft · "
            "Decision support, not a diagnosis.") in shown
    assert any(b.key == f"sign_{heads_id}" for b in at.button)


def test_a_claim_the_note_contradicts_is_shown_as_contradicted_not_supported(app_env):
    contradicted = "She denies feeling hopeless."
    pid, *_ = scored_patient(app_env, rationale=f"{contradicted} {UNSUPPORTED}")
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not at.exception
    shown = texts(at)
    assert ("0 of 2 rationale claims have support in the note. Unsupported: 1 · contradicted by the note: 1."
            in shown)
    [box] = [e.value for e in at.error if "Contradicted by the note" in e.value]
    box = re.sub(r"\\(.)", r"\1", box)  # note and model text reach st.error backslash-escaped (md_escape)
    assert contradicted in box and "“Says she has felt hopeless for most of the last month.”" in box
    assert f"⚠️ *No support in the note:* {UNSUPPORTED}" in htmllib.unescape(shown)
    [note] = [htmllib.unescape(m.value) for m in at.markdown
              if m.value.startswith("<div style='white-space:pre-wrap")]
    # the contradicting sentence is marked in the note as such (purple), never as support
    assert (f"<mark class='mhd-contradicts' title='contradicts: {contradicted}' "
            "style='background:#e9d5ff;border-bottom:2px solid #7e22ce'>Says she has felt hopeless") in note
    assert "class='mhd-evidence'" not in note


def test_sign_off_shows_who_signed_and_removes_the_button(app_env):
    from core.storage import records

    pid, _, heads_id, llm_id = scored_patient(app_env)
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    at.button(key=f"sign_{llm_id}").click().run()
    assert not at.exception
    # One click only asks: nothing is signed until the confirmation.
    assert records.get_analysis(app_env.store, llm_id)["status"] == "draft"
    assert "**Sign off this output?**" in texts(at)
    at.button(key=f"sign_cancel_{llm_id}").click().run()
    assert records.get_analysis(app_env.store, llm_id)["status"] == "draft"
    at.button(key=f"sign_{llm_id}").click().run()
    at.text_area(key=f"sign_note_{llm_id}").input("Agree; discussed with the patient.")
    at.button(key=f"sign_confirm_{llm_id}").click().run()
    assert not at.exception
    row = records.get_analysis(app_env.store, llm_id)
    assert row["status"] == "signed" and row["signed_by"] == app_env.users["psy"].id
    assert row["sign_note"] == "Agree; discussed with the patient."
    stamp = row["signed_at"][:16].replace("T", " ")
    assert (f"prompt `imhi-1` · :material/verified: signed by psy {stamp} UTC (note: Agree; discussed with the "
            "patient.) · Decision support, not a diagnosis.") in texts(at)
    keys = [b.key for b in at.button]
    assert f"sign_{llm_id}" not in keys and f"sign_{heads_id}" in keys  # the heads output is still a draft


def test_trajectories_tab_alerts_on_a_worsening_head(app_env):
    from tests.test_trends import store_heads

    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-1", consent_ml=True)
    for month, iso in zip((1, 2, 3, 4), (1.0, 1.1, 1.2, 3.1)):
        vid = patients.add_visit(ctx, pid, f"2026-0{month}-05", f"Visit {month}.")
        store_heads(app_env.store, vid, "v20260101_000000", {"isolation": iso}, std=0.1)
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not at.exception
    assert not [e.value for e in at.error]  # red is the crisis net's alone
    alerts = [e.value for e in at.warning if e.value.startswith("**")]
    assert alerts == [f"**Social isolation** has risen over the last {app_env.settings.trend_window} visits, "
                      "from connected to severely isolated."]
    # The two visits' notes are one click away.
    assert any(e.label == "Compare the notes of 2026-01-05 and 2026-04-05" for e in at.expander)
    assert "Visit 1." in [e.value for e in at.text] and "Visit 4." in [e.value for e in at.text]
    assert len(at.get("plotly_chart")) >= 4  # timeline + one chart per trajectory head (not family history)


def test_trajectories_tab_reads_one_heads_result_per_visit_after_an_upgrade(app_env):
    from tests.test_trends import store_heads

    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-1", consent_ml=True)
    # An early visit scored by v1 only; three later ones scored by v1 and then re-scored by v2 (which reads
    # every note about 1.5 higher): read naively, the last visit "worsened" by 1.5.
    store_heads(app_env.store, patients.add_visit(ctx, pid, "2025-12-05", "Visit 0."), "v20260101_000000",
                {"isolation": 2.5}, std=0.1)
    vids = [patients.add_visit(ctx, pid, f"2026-0{m}-05", f"Visit {m}.") for m in (1, 2, 3)]
    for version, iso in (("v20260101_000000", 1.0), ("v20260301_000000", 2.5)):
        for vid in vids:
            store_heads(app_env.store, vid, version, {"isolation": iso}, std=0.1)
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not at.exception
    assert not any("Social isolation" in e.value for e in at.error)
    assert any("different heads versions (v20260101_000000, v20260301_000000)" in w.value for w in at.warning)
    listed = app_env.page("pages/patients.py", "psy").run()
    assert listed.dataframe[0].value["Social isolation"].tolist() == ["→"]


@pytest.mark.parametrize("fmt,ext,start", [("Markdown", "md", b"# Patient summary: P-1"), ("PDF", "pdf", b"%PDF"),
                                           ("CSV of scores", "csv", b"pseudonym,visit_date")])
def test_export_tab_offers_each_download(app_env, fmt, ext, start):
    pid, *_ = scored_patient(app_env)
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not at.get("download_button")
    at.radio(key="export_format").set_value(fmt)
    at.button(key="export_prepare").click().run()
    assert not at.exception
    [download] = at.get("download_button")
    assert download.proto.label == f"Download .{ext}"
    data, got_ext, _ = at.session_state["export_blob"]
    assert got_ext == ext and data.startswith(start)


def test_upload_tab_adds_a_visit_from_a_file(app_env):
    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-1", consent_ml=True)
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    limit = app_env.settings.max_upload_mb
    assert [u.label for u in at.file_uploader] == [f"Note (.txt, .md, .docx, .pdf; up to {limit} MB)", "Visits file"]
    at.file_uploader(key="upload_file").set_value(("session-3.txt", "Calmer this week; sleeping 7 hours.".encode(
        "cp1252"), "text/plain"))
    next(b for b in at.button if b.label == "Add visit from file").click()
    at.run()
    assert not at.exception
    assert "Visit added from session-3.txt." in texts(at)
    [visit] = patients.list_visits(ctx, pid)
    assert visit["text"] == "Calmer this week; sleeping 7 hours." and visit["source"] == "upload:session-3.txt"


def test_import_tab_adds_dated_visits_all_or_nothing(app_env):
    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-1", consent_ml=True)
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    bad = b"visit_date,text\n2026-01-05,Low mood.\n2026-02-30,Better.\n"
    at.file_uploader(key="import_file").set_value(("visits.csv", bad, "text/csv"))
    next(b for b in at.button if b.label == "Import visits").click()
    at.run()
    assert not at.exception
    assert any("2026-02-30" in e.value for e in at.error)
    assert patients.list_visits(ctx, pid) == []
    good = b"visit_date,text\n2026-01-05,Low mood.\n2026-02-05,Better; back at work.\n"
    at.file_uploader(key="import_file").set_value(("visits.csv", good, "text/csv"))
    next(b for b in at.button if b.label == "Import visits").click()
    at.run()
    assert "2 visits imported." in texts(at)
    assert [v["visit_date"] for v in patients.list_visits(ctx, pid)] == ["2026-01-05", "2026-02-05"]


def test_token_attributions_on_demand_with_the_real_encoder(app_env):
    pid, _, heads_id, _ = scored_patient(app_env)
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert "<span title=" not in texts(at)
    at.selectbox(key=f"explain_head_{heads_id}").set_value("isolation")
    at.button(key=f"explain_{heads_id}").click().run()
    assert not at.exception
    heat = next(m.value for m in at.markdown if "<span title=" in m.value)
    assert ">hopeless</span>" in heat and ">Sundays.</span>" in htmllib.unescape(heat)
    assert "Red words push this head's score up, blue words push it down." in texts(at)


# ------------------------------------------------------------ states
DEMO_MARK = "DEMO · synthetic patients"


@pytest.mark.parametrize("page,role", [("pages/patients.py", "psy"), ("pages/patient.py", "psy"),
                                       ("pages/cohort.py", "lead")])
def test_demo_mode_watermarks_every_clinical_page(app_env, page, role):
    from core.clinical import demo
    from core.storage import records

    demo_ctx = app_env.ctx(role, demo=True)
    demo.seed_demo(demo_ctx.store)
    first = records.all_patient_ids(demo_ctx.store)[0]
    demo_ctx.store.close()
    at = app_env.page(page, role, demo_mode=True, patient_id=first).run()
    assert not at.exception
    assert DEMO_MARK in texts(at)
    clinical = app_env.page(page, role, patient_id=first).run()
    assert DEMO_MARK not in texts(clinical)


def test_demo_patient_is_scored_on_opening_even_for_a_lead(app_env):
    """A clinical lead cannot run analyses; the demo still shows scores: the opened patient's visits are scored."""
    from core.clinical import demo
    from core.storage import records

    demo_ctx = app_env.ctx("lead", demo=True)
    demo.seed_demo(demo_ctx.store)
    consented = [p for p in records.all_patient_ids(demo_ctx.store)
                 if records.get_patient(demo_ctx.store, p)["consent_ml"]]
    first, other = consented[0], consented[1]
    at = app_env.page("pages/patient.py", "lead", demo_mode=True, patient_id=first).run()
    assert not at.exception
    visits = records.list_visits(demo_ctx.store, first)
    scored = {a["visit_id"] for a in records.list_analyses(demo_ctx.store, [v["id"] for v in visits])}
    assert scored == {v["id"] for v in visits}
    assert not records.list_analyses(demo_ctx.store, [v["id"] for v in records.list_visits(demo_ctx.store, other)])
    shown = [e.label for e in at.expander if any(v["visit_date"] in e.label for v in visits)]
    assert shown and not [label for label in shown if "not analysed" in label]  # the page shows them scored
    demo_ctx.store.close()


def test_models_page_without_trained_heads(app_env, tmp_path, monkeypatch):
    monkeypatch.setenv("MHD_HEADS_DIR", str(tmp_path / "no-heads"))
    at = app_env.page("pages/models.py", "psy").run()
    assert not at.exception
    assert any("No trained heads checkpoint is installed" in e.value for e in at.error)
    assert "synthetic" not in texts(at)


def test_llm_missing_shows_an_error_and_stores_nothing(app_env, monkeypatch):
    from core.storage import records

    monkeypatch.setenv("MHD_LLM_BASE", "/nonexistent/llm-base")
    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-1", consent_ml=True)
    vid = patients.add_visit(ctx, pid, "2026-01-05", NOTE)
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    at.button(key=f"run_task_{vid}").click().run()
    assert not at.exception
    assert any("Base model not found: /nonexistent/llm-base" in w.value for w in at.warning)
    assert [e.value for e in at.error] == [
        "The language model is not available, so Depression did not run and nothing was stored. "
        "Ask an administrator to check the model settings on the Models page."]
    # Analyse still gives the scores and the task head's label (no language model in those), queues no rationale
    # and says why.
    at.multiselect(key="batch_tasks").set_value(["depression"])
    at.button(key="analyse_all").click().run()
    assert any("The language model is not available" in w.value and "no rationale was queued" in w.value
               for w in at.warning)
    rows = records.list_analyses(app_env.store, [vid])
    assert sorted(a["kind"] for a in rows) == ["heads", "llm"] and rows[-1]["outputs"]["label_only"]
    from core.storage import jobs
    assert jobs.jobs_for_patient(app_env.store, pid) == []
    assert records.count_visits(app_env.store) == 1


# ------------------------------------------------------------ synthetic-data note (issue 3 point 4)
def copy_heads(app_env, tmp_path, *, source: str) -> str:
    """A copy of the shipped heads whose metadata says they were trained on ``source`` ("synthetic" or a file)."""
    import json
    import shutil

    version = shipped_heads_version(app_env.settings)
    target = tmp_path / "heads"
    shutil.copytree(app_env.settings.heads_dir / version, target / version)
    (target / "LATEST").write_text(version + "\n")
    metrics = json.loads((target / version / "metrics.json").read_text())
    config = json.loads((target / version / "config.json").read_text())
    if source != "synthetic":
        metrics["data"] = {"source": source, "rows": 5200, "fingerprint": "0" * 64}
        config["training_data"] = source
    (target / version / "metrics.json").write_text(json.dumps(metrics))
    (target / version / "config.json").write_text(json.dumps(config))
    return str(target)


def test_head_scores_say_when_the_heads_were_trained_on_synthetic_data(app_env):
    from app.widgets import SYNTHETIC_HEADS_NOTE

    pid, *_ = scored_patient(app_env)
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not at.exception
    assert [c.value for c in at.caption if SYNTHETIC_HEADS_NOTE in c.value] == [
        f":material/science: {SYNTHETIC_HEADS_NOTE}"]
    models = app_env.page("pages/models.py", "psy").run()
    assert any(SYNTHETIC_HEADS_NOTE in w.value for w in models.warning)


def test_heads_trained_on_real_data_carry_no_synthetic_note(app_env, tmp_path, monkeypatch):
    from app.widgets import SYNTHETIC_HEADS_NOTE

    monkeypatch.setenv("MHD_HEADS_DIR", copy_heads(app_env, tmp_path, source="/data/longparas/train.csv"))
    pid, *_ = scored_patient(app_env)
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not at.exception
    assert SYNTHETIC_HEADS_NOTE not in texts(at)
    assert any(f"`{shipped_heads_version(app_env.settings)}`" in c.value for c in at.caption)
    models = app_env.page("pages/models.py", "psy").run()
    assert not models.exception
    assert "Training data: /data/longparas/train.csv" in texts(models)
    assert not any("synthetic" in w.value for w in models.warning)


def test_crisis_language_and_evidence_are_marked_differently():
    from app.widgets import highlight

    text = "Feels hopeless. Wants to die. Sleeps badly."
    html_ = highlight(text, [(0, 15, "supports: mood", "evidence"), (16, 28, "crisis language: x", "crisis"),
                             (16, 28, "supports: risk")])
    assert "class='mhd-evidence'" in html_ and html_.count("class='mhd-crisis'") == 1
    assert html_.count("<mark") == 2  # where crisis and evidence overlap, the crisis mark wins


def test_trajectory_axis_stays_in_days_for_visits_on_one_day():
    from app.widgets import _date_axis

    axis = _date_axis(["2026-03-01", "2026-03-01"])
    assert axis["tickformat"] == "%d %b %Y" and axis["range"] == ["2026-02-22", "2026-03-08"]
    assert "range" not in _date_axis(["2026-01-01", "2026-03-01"])


def test_visit_timeline_colours_each_visit_by_its_state(app_env):
    """A visit with crisis language and an unanalysed visit land in their own traces of the timeline."""
    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-TL", consent_ml=True)
    patients.add_visit(ctx, pid, "2026-01-05", "Low mood, sleeping badly.")
    patients.add_visit(ctx, pid, "2026-02-02", "Says she wants to die.")
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not at.exception
    import json

    [chart] = [c for c in at.get("plotly_chart") if "visit_timeline" in str(c.proto.id)]
    traces = {t["name"]: (t["x"], t["y"]) for t in json.loads(chart.proto.spec)["data"]}
    assert traces == {"crisis language": (["2026-02-02"], [0]), "not analysed": (["2026-01-05"], [0])}
    patients.add_visit(ctx, pid, "2026-02-02", "Second note the same day: calmer.")
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    [chart] = [c for c in at.get("plotly_chart") if "visit_timeline" in str(c.proto.id)]
    traces = {t["name"]: (t["x"], t["y"]) for t in json.loads(chart.proto.spec)["data"]}
    assert traces["not analysed"] == (["2026-01-05", "2026-02-02"], [0, 1])  # same day: stacked, not hidden


def test_patient_list_colours_arrows_by_what_the_change_means(app_env):
    """Isolation up is worse (purple); support up is better (green): the same arrow, opposite meanings."""
    from tests.test_trends import store_heads

    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-ARROW", consent_ml=True)
    version = shipped_heads_version(app_env.settings)
    for day, iso, sup in (("2026-01-05", 1.0, 1.0), ("2026-02-05", 3.0, 3.0)):
        vid = patients.add_visit(ctx, pid, day, "Session note.")
        store_heads(app_env.store, vid, version, values={"isolation": iso, "support": sup})
    at = app_env.page("pages/patients.py", "psy").run()
    assert not at.exception
    df = at.dataframe[0].value
    row = df[df["Pseudonym"] == "P-ARROW"].iloc[0]
    assert row["Social isolation"].startswith("↑") and row["Support system"].startswith("↑")
    import re

    css = at.dataframe[0].proto.arrow_data.styler.styles
    r, iso, sup = df.index.get_loc(row.name), list(df.columns).index("Social isolation"), list(df.columns).index(
        "Support system")
    assert re.search(rf"_row{r}_col{iso}[^{{]*{{ color: #CC79A7", css)  # more isolation: worse
    assert re.search(rf"_row{r}_col{sup}[^{{]*{{ color: #009E73", css)  # more support: better
    # The status cell is a shape and a word in its marker's colour (never an emoji), explained by the legend.
    from app.score_style import STATUS_MARKERS

    shape, colour, word = next(v for v in STATUS_MARKERS.values() if row["Status"].startswith(f"{v[0]} {v[2]}"))
    st_col = list(df.columns).index("Status")
    assert re.search(rf"_row{r}_col{st_col}[^{{]*{{ color: {colour}", css)
    legend = next(m.value for m in at.markdown if m.value.startswith("**Status**"))
    for reason in ("crisis", "qa_flag", "worsening", "none"):
        assert f"data-reason='{reason}'" in legend


def test_models_page_shows_every_recorded_evaluation_with_titled_axes(app_env):
    import json

    at = app_env.page("pages/models.py", "psy").run()
    assert not at.exception
    keys = {str(c.proto.id) for c in at.get("plotly_chart")}
    assert any("eval_heads_loss" in k for k in keys) and any("eval_llm_chart" in k for k in keys)
    for chart in at.get("plotly_chart"):
        layout = json.loads(chart.proto.spec)["layout"]
        assert layout["xaxis"]["title"]["text"]  # every chart names its scale
    llm = next(d.value for d in at.dataframe if "adapted model" in d.value.columns)
    assert set(llm["dataset"]) == {"DR", "Irf", "MultiWD", "SAD", "dreaddit"}
    assert any(e.label == "Glossary of dataset and metric names" for e in at.expander)


def test_models_page_shows_the_compute_device_without_a_button(app_env):
    at = app_env.page("pages/models.py", "psy").run()
    assert not at.exception
    shown = " ".join(m.value for m in at.markdown)
    assert "In-process models run on **cpu**" in shown or "In-process models run on **cuda**" in shown


def test_models_page_names_an_unmeetable_device_setting(app_env, monkeypatch):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU, so device=cuda is met")
    monkeypatch.setenv("MHD_DEVICE", "cuda")
    at = app_env.page("pages/models.py", "psy").run()
    assert not at.exception
    assert any("no CUDA GPU is available" in e.value for e in at.error)


def test_qa_flag_reaches_the_psychiatrist_and_the_patient_list(app_env):
    from core import review

    pid, vid, heads_id, llm_id = scored_patient(app_env)
    qa = app_env.ctx("qa")
    review.queue(qa)  # the queue picks up the new outputs
    review.decide(qa, llm_id, "flag", reason="missed_risk", severity="critical", comment="Plan not weighed.",
                  corrected_label="yes", corrected_rationale="She describes a plan.")
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not at.exception
    [flag] = [w.value for w in at.warning if "QA flag" in w.value]
    assert flag.startswith("**QA flag (open) · severity critical** · Missed risk · reviewer qa")
    assert "Reviewer's note: Plan not weighed." in flag
    assert "Reviewer's correction: label should be 'yes'; rationale: She describes a plan." in flag
    assert any("■ QA flag" in e.label for e in at.expander)
    listed = app_env.page("pages/patients.py", "psy").run()
    assert not listed.exception
    table = listed.dataframe[0].value
    row = table[table["Pseudonym"] == "P-1"].iloc[0]
    assert row["Status"] == "■ QA flag"
    assert any("mhd-status" in m.value and "QA flag" in m.value for m in listed.markdown)  # the legend


def test_a_signed_output_is_superseded_with_its_reason_never_edited(app_env):
    from core.clinical import analysis, signoff
    from core.errors import ValidationError
    from core.storage import records
    from core.storage.audit import list_events

    pid, vid, heads_id, llm_id = scored_patient(app_env)
    psy = app_env.ctx("psy")
    with pytest.raises(ValidationError):
        signoff.supersede(psy, llm_id, "too early")  # a draft is not superseded
    analysis.sign(psy, llm_id)
    before = records.get_analysis(app_env.store, llm_id)
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    at.button(key=f"supersede_{llm_id}").click().run()
    assert "Say why this signed output is superseded" in texts(at)
    at.text_area(key=f"supersede_reason_{llm_id}").input("Later visit showed the plan was historical.")
    at.button(key=f"supersede_{llm_id}").click().run()
    assert not at.exception
    assert "**Superseded** by psy on" in texts(at)
    after = records.get_analysis(app_env.store, llm_id)
    assert after == before  # the signed output itself never changes
    [event] = list_events(app_env.store, action="analysis.supersede")
    with pytest.raises(ValidationError):
        signoff.supersede(psy, llm_id, "again")
    from core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        signoff.supersede(app_env.ctx("qa"), llm_id, "not mine to change")


def test_the_analyse_tooltip_time_is_measured_not_a_constant(app_env):
    from core.clinical import timing
    from core.storage import records

    pid, vid, _, _ = scored_patient(app_env)
    ctx = app_env.ctx("psy")
    assert timing.typical_seconds(ctx) == (4.2, 1)  # the one stored answer's run time
    for ms in (2100.0, 2900.0, 24000.0):
        records.insert_analysis(app_env.store, visit_id=vid, kind="llm", task="stress", outputs={"label": "no"},
                                model_id="m", model_version="v", duration_ms=ms)
    assert timing.typical_seconds(ctx) == (3.55, 4)  # median of 4.2, 2.1, 2.9, 24 s
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert "took a median 4 s per visit here (last 4 runs)" in at.multiselect(key="batch_tasks").help


def test_each_head_bar_is_drawn_in_its_bands_colour_on_a_titled_axis(app_env):
    import json

    from app.score_style import CRISIS_RED, band_colour
    from core.models.heads import get_head

    pid, _, heads_id, _ = scored_patient(app_env)
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not at.exception
    [chart] = [c for c in at.get("plotly_chart") if f"heads_chart_{heads_id}" in str(c.proto.id)]
    spec_json = json.loads(chart.proto.spec)
    bars = [t for t in spec_json["data"] if t["type"] == "bar"]
    assert len(bars) == 5
    for i, bar in enumerate(bars, start=1):
        label, band = bar["y"][0].split(": ", 1)
        spec = next(get_head(h) for h in ("sentiment", "family_history", "trauma", "isolation", "support")
                    if get_head(h).label == label)
        assert bar["marker"]["color"] == band_colour(spec, [b for _, b in spec.bands].index(band)) != CRISIS_RED
        axis = spec_json["layout"]["xaxis" if i == 1 else f"xaxis{i}"]
        assert axis["title"]["text"] and f"{spec.high:g}" in axis["title"]["text"]
    shown = texts(at)
    assert "±" not in "".join(m.value for m in at.markdown if "mhd-band" in m.value)
    assert "confidence" in shown and "Hover a band name for its meaning and source" in shown


def test_claim_rendering_helpers_keep_contradictions_apart_from_support():
    from app.claims import evidence_spans, summary_line
    from app.widgets import highlight

    text = "Denies suicidal ideation. Sleeps badly."
    denial = {"sentence": "Denies suicidal ideation.", "start": 0, "end": 25, "score": 0.8}
    claims = [
        {"claim": "Shows suicidal ideation.", "status": "contradicted", "supported": False,
         "evidence": [denial], "contradicted_by": {**denial, "reason": "the note says the opposite about: suicidal"}},
        {"claim": "Has no suicidal ideation.", "status": "supported", "supported": True, "evidence": [denial],
         "contradicted_by": None},
        {"claim": "Poor sleep.", "supported": True, "evidence": [{"sentence": "Sleeps badly.", "start": 26,
                                                                  "end": 39, "score": 0.6}]},  # stored before
    ]
    spans = evidence_spans(claims)
    assert [(s[0], s[3]) for s in spans] == [(0, "contradicts"), (0, "evidence"), (26, "evidence")]
    html = highlight(text, spans)
    assert html.count("<mark") == 2
    assert "class='mhd-contradicts' title='contradicts: Shows suicidal" in htmllib.unescape(html)
    assert summary_line(claims) == ("2 of 3 rationale claims have support in the note. "
                                    "Unsupported: 0 · contradicted by the note: 1.")


def test_counts_read_as_a_person_writes_them(app_env):
    """The patient page said "1 visits · consent to ML analysis"."""
    from app.widgets import plural

    assert (plural(1, "visit"), plural(0, "visit"), plural(2, "task-head label")) == (
        "1 visit", "0 visits", "2 task-head labels")
    ctx = app_env.ctx("psy")
    pid = patients.create_patient(ctx, "P-ONE", consent_ml=False)
    patients.add_visit(ctx, pid, "2026-01-05", "Session note.")
    at = app_env.page("pages/patient.py", "psy", patient_id=pid).run()
    assert not at.exception
    assert "1 visit · consent to ML analysis: no" in [c.value for c in at.caption]
    listing = app_env.page("pages/patients.py", "psy").run()
    assert any(c.value.startswith("Page 1 of 1 · 1 patient · ") for c in listing.caption)


def test_an_empty_cohort_is_not_reported_as_all_clear(app_env):
    at = app_env.page("pages/cohort.py", "lead").run()
    assert not at.exception
    assert "No patients yet: nothing to check." in [i.value for i in at.info]
    assert not [s.value for s in at.success if s.value.startswith("No patient has crisis language")]
