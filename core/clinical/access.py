"""Who may read or change a patient's record: the one access policy every clinical function goes through.

Psychiatrists see and change only their own patients; clinical leads read all of them; in demo mode the
synthetic cohort is open to every role allowed to use the demo. ``visit_for`` and ``patient_for`` return the
record only after the check, so a caller cannot read first and check later.
"""

from __future__ import annotations

from core.context import Context
from core.errors import ConsentRequired, PermissionDenied
from core.storage import records

__all__ = ["owner_filter", "check_access", "patient_for", "visit_for", "require_consent"]


def owner_filter(ctx: Context) -> int | None:
    """The owner id a patient listing is restricted to, or None when the caller may list every patient."""
    if ctx.demo or ctx.user.can("patients.read_all"):
        return None
    return ctx.user.id


def check_access(ctx: Context, patient: dict, *, write: bool = False) -> None:
    """Raise PermissionDenied unless the caller may read (or, with write, change) this patient's record."""
    ctx.require("patients.write" if write else "patients.read")
    if ctx.demo:
        return
    if not ctx.user.can("patients.read_all") and patient["owner_id"] != ctx.user.id:
        raise PermissionDenied("This patient is under another psychiatrist's care.")
    if write and patient["owner_id"] != ctx.user.id:
        raise PermissionDenied("Only the patient's own psychiatrist can change their record.")


def patient_for(ctx: Context, patient_id: int, *, write: bool = False) -> dict:
    """The patient, after the access check."""
    patient = records.get_patient(ctx.store, patient_id)
    check_access(ctx, patient, write=write)
    return patient


def visit_for(ctx: Context, visit_id: int, *, write: bool = False) -> tuple[dict, dict]:
    """(visit, patient), after the access check on the visit's patient."""
    visit = records.get_visit(ctx.store, visit_id)
    patient = records.get_patient(ctx.store, visit["patient_id"])
    check_access(ctx, patient, write=write)
    return visit, patient


def require_consent(patient: dict) -> None:
    """Raise ConsentRequired unless the patient consented to ML analysis of their notes."""
    if not patient["consent_ml"]:
        raise ConsentRequired(
            "This patient has not consented to ML analysis, so no model runs on their notes. "
            "Record their consent on the patient's details first."
        )
