"""Patients and visits: the clinical records, with role checks and audit on every access.

Psychiatrists see and change only their own patients; clinical leads read all
of them; nobody else reads visit text here (reviewers get de-identified text
through the review queue). In demo mode the synthetic cohort is open to every
role allowed to use the demo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from core.clinical.access import check_access, owner_filter, visit_for
from core.clinical.cohort import summarise_patients
from core.clinical.indicator_records import compute_many, store_many
from core.clinical.uploads import read_upload, read_visit_batch
from core.context import Context
from core.errors import ValidationError
from core.safety.crisis_state import assess_for_visit, results_for, store_result
from core.storage import records

PSEUDONYM_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,39}$")


@dataclass
class PatientPage:
    rows: list[dict]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def validate_text(text: str, ctx: Context) -> str:
    """The rules every visit text meets before it is stored."""
    if not isinstance(text, str):
        raise ValidationError("The note must be text.")
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError("The note contains characters that are not valid text (broken encoding).") from exc
    if not text.strip():
        raise ValidationError("The note is empty.")
    if len(text) > ctx.settings.max_text_chars:
        raise ValidationError(
            f"The note is {len(text):,} characters; the limit is {ctx.settings.max_text_chars:,}. Split it into visits."
        )
    return text.strip()


def validate_date(value) -> str:
    if isinstance(value, date):
        return value.isoformat()
    try:
        parsed = date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ValidationError(f"{value!r} is not a date (use YYYY-MM-DD).") from exc
    if parsed.year < 1900 or parsed > date.today().replace(year=date.today().year + 1):
        raise ValidationError(f"{parsed} is not a plausible visit date.")
    return parsed.isoformat()


# ---------------------------------------------------------------- patients
def list_patients(ctx: Context, *, search: str = "", sort: str = "last_visit", descending: bool = True,
                  page: int = 1, page_size: int = 25) -> PatientPage:
    """One page of the caller's patients, each with status light and per-head trend arrows."""
    ctx.require("patients.read")
    page = max(1, int(page))
    rows, total = records.list_patients(
        ctx.store, owner_id=owner_filter(ctx), search=search.strip(), sort=sort, descending=descending,
        limit=page_size, offset=(page - 1) * page_size,
    )

    summarise_patients(ctx, rows)
    ctx.audit("patient.list", "patient", "", count=len(rows), search=bool(search))
    return PatientPage(rows, total, page, page_size)


def create_patient(ctx: Context, pseudonym: str, display_name: str = "", consent_ml: bool = False) -> int:
    ctx.require("patients.write")
    pseudonym = pseudonym.strip()
    if not PSEUDONYM_RE.match(pseudonym):
        raise ValidationError("Pseudonymous id: 2-40 letters, digits, '.', '_' or '-'.")
    owner = None if ctx.demo else ctx.user.id
    with ctx.store.tx():  # the record and its audit event commit together or not at all
        pid = records.insert_patient(ctx.store, pseudonym, display_name.strip(), owner, consent_ml)
        ctx.audit("patient.create", "patient", pid, consent_ml=bool(consent_ml))
    return pid


def update_patient(ctx: Context, patient_id: int, *, display_name: str | None = None,
                   consent_ml: bool | None = None) -> None:
    patient = records.get_patient(ctx.store, patient_id)
    check_access(ctx, patient, write=True)
    with ctx.store.tx():
        records.update_patient(ctx.store, patient_id, display_name=display_name, consent_ml=consent_ml)
        ctx.audit("patient.update", "patient", patient_id,
                  before={"consent_ml": bool(patient["consent_ml"])},
                  after={"consent_ml": consent_ml if consent_ml is not None else bool(patient["consent_ml"])},
                  name_changed=display_name is not None and display_name != patient["display_name"])


def get_patient(ctx: Context, patient_id: int) -> dict:
    patient = records.get_patient(ctx.store, patient_id)
    check_access(ctx, patient)
    ctx.audit("patient.read", "patient", patient_id)
    return patient


# ---------------------------------------------------------------- visits
def add_visit(ctx: Context, patient_id: int, visit_date, text: str, source: str = "paste", *, encoder=None) -> int:
    """Store one visit and run the crisis check on it (rules, plus the semantic layer when ``encoder`` is given)."""
    patient = records.get_patient(ctx.store, patient_id)
    check_access(ctx, patient, write=True)
    ctx.require("visits.write")
    text = validate_text(text, ctx)
    consent = bool(patient["consent_ml"])
    found = compute_many([text])  # word counts, no model: before the write lock is taken
    crisis = assess_for_visit(text, encoder, consent=consent)  # rules (+ semantic layer): never the LLM
    visit = {"visit_date": validate_date(visit_date), "text": text, "source": source[:200]}
    # The visit, its indicators, its crisis result and its visit.create event are stored together or not at all.
    with ctx.store.tx():
        [vid] = records.insert_visits(ctx.store, patient_id, [visit], ctx.user.id)
        store_many(ctx.store, [vid], found)
        store_result(ctx.store, vid, crisis)
        ctx.audit("visit.create", "visit", vid, patient_id=patient_id, source=source[:60], chars=len(text),
                  crisis=crisis.categories, crisis_semantic=crisis.semantic)
    return vid


def add_visit_upload(ctx: Context, patient_id: int, visit_date, filename: str, data: bytes, *, encoder=None) -> int:
    """A note uploaded as .txt/.md/.docx/.pdf becomes one visit."""

    text = read_upload(filename, data, ctx.settings)
    return add_visit(ctx, patient_id, visit_date, text, source=f"upload:{filename}", encoder=encoder)


def import_visits(ctx: Context, patient_id: int, filename: str, data: bytes, *, encoder=None) -> list[int]:
    """A .csv/.jsonl of many dated visits: validated first, then stored all-or-nothing; each gets the crisis check."""

    patient = records.get_patient(ctx.store, patient_id)
    check_access(ctx, patient, write=True)
    batch = read_visit_batch(filename, data, ctx.settings)
    visits = []
    for i, v in enumerate(batch, 1):
        try:
            visits.append({"visit_date": validate_date(v["visit_date"]), "text": validate_text(v["text"], ctx),
                           "source": f"import:{filename}"[:200]})
        except ValidationError as exc:
            raise ValidationError(f"Row {i}: {exc}") from exc
    consent = bool(patient["consent_ml"])
    found = compute_many([v["text"] for v in visits])  # word counts, no model: before the write lock is taken
    crisis = [assess_for_visit(v["text"], encoder, consent=consent) for v in visits]  # every visit of the batch
    # The visits, their indicators and crisis results and the import event are stored together or not at all.
    with ctx.store.tx():
        ids = records.insert_visits(ctx.store, patient_id, visits, ctx.user.id)
        store_many(ctx.store, ids, found)
        for vid, result in zip(ids, crisis):
            store_result(ctx.store, vid, result)
        ctx.audit("visit.import", "patient", patient_id, visits=len(ids), file_type=filename.rsplit(".", 1)[-1],
                  crisis_visits=sum(r.flagged for r in crisis), visit_ids=ids)
    return ids


def list_visits(ctx: Context, patient_id: int, *, encoder=None) -> list[dict]:
    """The patient's visits, each with its stored crisis result (``visit["crisis"]``, a CrisisAssessment)."""
    patient = records.get_patient(ctx.store, patient_id)
    check_access(ctx, patient)
    visits = records.list_visits(ctx.store, patient_id)
    crisis = results_for(ctx.store, visits, encoder, consent=bool(patient["consent_ml"]))
    for v in visits:
        v["crisis"] = crisis[v["id"]]
    ctx.audit("visit.list", "patient", patient_id, count=len(visits))
    return visits


ACK_NOTE_MAX = 1000


def acknowledge_crisis(ctx: Context, visit_id: int, note: str = "") -> None:
    """Record that a clinician saw the crisis banner of this visit and will act; the whole care team sees it."""
    ctx.require("crisis.ack")
    visit, patient = visit_for(ctx, visit_id)
    note = (note or "").strip()
    if len(note) > ACK_NOTE_MAX:
        raise ValidationError(f"The note is {len(note):,} characters; keep it under {ACK_NOTE_MAX:,}.")
    crisis = results_for(ctx.store, [visit], consent=bool(patient["consent_ml"]))[visit_id]
    with ctx.store.tx(durable=True):  # the acknowledgement and its audit event commit together
        records.insert_crisis_ack(ctx.store, visit_id, ctx.user.id, note)
        ctx.audit("crisis.acknowledge", "visit", visit_id, categories=crisis.categories, with_note=bool(note))


def crisis_acknowledged(ctx: Context, visit_id: int) -> list[dict]:
    """Every acknowledgement of this visit's crisis banner: who (username, role), when, and their note; only for
    those who may read the patient."""
    visit_for(ctx, visit_id)
    return records.crisis_acks(ctx.store, visit_id)
