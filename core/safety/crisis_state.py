"""A visit's crisis state: the layered check runs when the visit is saved and its result is stored.

Banners, the patient list light, the cohort's crisis count and the review
queue read the stored result; nothing waits on a model to show a banner. A
stored result is recomputed when it was made by an older detector version,
or when it was made without the semantic layer and an encoder is now at hand
for a patient who consents to ML analysis. Patients without consent get the
rules only (no model runs on their notes), and the result says so.

A patient's crisis state is every visit at once: a patient is in crisis while
any of their visits has a flag nobody on the care team has acknowledged.
"""

from __future__ import annotations

from core.safety.crisis_check import DETECTOR_FAMILY, DETECTOR_VERSION, CrisisAssessment, assess_crisis, same_family
from core.safety.crisis_semantic import semantic_available
from core.storage import records
from core.storage.db import Store

NO_CONSENT = "no consent to ML analysis: the phrase rules ran, no model"


def assess_for_visit(text: str, encoder=None, *, consent: bool = True) -> CrisisAssessment:
    """The layered check on a visit's text: the semantic layer only for a patient who consents to ML analysis."""
    result = assess_crisis(text, encoder if consent else None)
    if not consent:
        result.semantic_note = NO_CONSENT
    return result


def store_result(store: Store, visit_id: int, result: CrisisAssessment) -> None:
    records.put_visit_crisis(store, visit_id, version=result.version, semantic=result.semantic,
                             flagged=result.flagged, risk_factor=result.risk_factor, result=result.to_dict())


def check_and_store(store: Store, visit_id: int, text: str, encoder=None, *, consent: bool = True) -> CrisisAssessment:
    """Run the layered check on one visit's text and store the result."""
    result = assess_for_visit(text, encoder, consent=consent)
    store_result(store, visit_id, result)
    return result


def _semantic_possible(encoder) -> bool:

    return not semantic_available(encoder)


def results_for(store: Store, visits: list[dict], encoder=None, *, consent: bool = True) -> dict[int, CrisisAssessment]:
    """Crisis result of each visit (dicts with id and text): stored, or computed now and stored."""
    stored = records.visit_crisis(store, [v["id"] for v in visits])
    upgrade = consent and encoder is not None and _semantic_possible(encoder)
    out = {}
    for v in visits:
        row = stored.get(v["id"])
        if (row is None or not same_family(row["version"])
                or (upgrade and (row["version"] != DETECTOR_VERSION or row["semantic"] != "on"))):
            out[v["id"]] = check_and_store(store, v["id"], v["text"], encoder, consent=consent)
        else:
            out[v["id"]] = CrisisAssessment.from_dict(row["result"])
    return out


def refresh_missing(store: Store, patient_ids: list[int] | None = None) -> int:
    """Store a result (rules only) for visits that have none of this detector family, e.g. imported before it."""
    todo = records.visits_needing_crisis_check(store, DETECTOR_FAMILY, patient_ids)
    for v in todo:
        check_and_store(store, v["id"], v["text"], None)
    return len(todo)


def patient_states(store: Store, patient_ids: list[int] | None = None) -> dict[int, dict]:
    """Per patient id: {"flagged": visits with a crisis flag, "unacknowledged": of those, not yet acknowledged}."""
    refresh_missing(store, patient_ids)
    return records.crisis_state_by_patient(store, patient_ids)
