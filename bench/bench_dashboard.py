"""Dashboard server-side speed: a patient with 200 visits, the patient list and the cohort with 10,000 patients.

Targets: the patient page renders in < 1.5 s server-side; a page of the patient list stays < 1 s; the cohort
overview of 10,000 patients stays < 1 s. Measured with AppTest (the real page script, no browser)
and the core service alone, side by side, median of several runs.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from bench.machine import describe

ROOT = Path(__file__).resolve().parent.parent


def _seed(store, psy, n_patients: int, big_visits: int) -> int:
    from core.models.heads import HEADS
    from core.storage import records

    rng = random.Random(1)
    big = records.insert_patient(store, "BIG-0001", "Many Visits", psy.id, True)
    visits = [{"visit_date": f"20{10 + i // 12:02d}-{i % 12 + 1:02d}-15", "text": f"Session {i}. Mood fair, sleep ok."}
              for i in range(big_visits)]
    ids = records.insert_visits(store, big, visits, psy.id)
    with store.tx():
        for vid in ids:
            outputs = {"heads": {h.name: {"value": rng.uniform(h.low, h.high), "std": 0.1, "low": h.low,
                                          "high": h.high} for h in HEADS}, "windows": 1, "tokens": 12}
            records.insert_analysis(store, visit_id=vid, kind="heads", task="heads", outputs=outputs,
                                    model_id="bench", model_version="v-bench", cache_key=f"k{vid}")
    with store.tx():
        for i in range(n_patients - 1):
            pid = records.insert_patient(store, f"P-{i:05d}", f"Patient {i}", psy.id, True)
            records.insert_visits(store, pid, [{"visit_date": "2026-01-01", "text": "note"},
                                               {"visit_date": "2026-02-01", "text": "note"}], psy.id)
    return big


def _median(fn, runs=5) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    from streamlit.testing.v1 import AppTest

    from core.clinical import patients
    from core.context import Context
    from core.security import auth
    from core.settings import load_settings
    from core.storage import open_store

    tmp = Path(tempfile.mkdtemp())
    os.environ["MHD_DATA_DIR"] = str(tmp)
    settings = load_settings(env={}, data_dir=tmp)
    store = open_store(settings.database, key=settings.database_key)
    admin = auth.create_user(store, "admin", "correct horse battery", "admin", must_change=False)
    psy = auth.create_user(store, "psy", "correct horse battery", "psychiatrist", actor=admin, must_change=False)
    lead = auth.create_user(store, "lead", "correct horse battery", "clinical_lead", actor=admin, must_change=False)
    big = _seed(store, psy, 10_000, 200)
    ctx = Context(settings, store, psy)
    lead_ctx = Context(settings, store, lead)
    from core.clinical import cohort

    t = time.perf_counter()
    cohort.overview(lead_ctx)  # the first read also stores a rules-only crisis result for every older visit
    cohort_first = time.perf_counter() - t
    cohort_core = _median(lambda: cohort.overview(lead_ctx), runs=3)

    list_core = _median(lambda: patients.list_patients(ctx, page=7))
    _, token = auth.login(store, settings, "psy", "correct horse battery")

    def render(page: str, **state):
        at = AppTest.from_file(str(ROOT / page), default_timeout=60)
        at.session_state["auth_token"] = token
        for k, v in state.items():
            at.session_state[k] = v
        at.run()
        assert not at.exception, at.exception

    list_page = _median(lambda: render("pages/patients.py"), runs=3)
    patient_page = _median(lambda: render("pages/patient.py", patient_id=big), runs=3)
    print(f"machine: {describe()}")
    print(f"patient list, 10,000 patients, one page (core service): {list_core * 1000:.0f} ms")
    print(f"patient list page, AppTest server-side render:           {list_page * 1000:.0f} ms (target < 1000)")
    print(f"patient page, 200 visits, AppTest server-side render:    {patient_page * 1000:.0f} ms (target < 1500)")
    print(f"cohort overview, 10,000 patients (core service):         {cohort_core * 1000:.0f} ms (target < 1000; "
          f"first read {cohort_first * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
