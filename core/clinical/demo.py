"""The demo cohort: synthetic patients in their own database, never mixed with PHI."""

from __future__ import annotations

from core import backends
from core.clinical.access import patient_for
from core.clinical.analysis import HEADS_KIND, heads_cache_key
from core.context import Context
from core.errors import PermissionDenied, ValidationError
from core.security.auth import User
from core.storage import Store, records
from core.storage.audit import append_event
from core.storage.demo_reset import mirror_user as _mirror
from core.storage.demo_reset import wipe_demo
from core.synthetic.cohort import generate_cohort


def is_empty(store: Store) -> bool:
    return not records.all_patient_ids(store)


def seed_demo(store: Store, *, seed: int = 7) -> int:
    """Write the seeded synthetic cohort into an empty demo database; returns patients added."""

    if not is_empty(store):
        return 0
    cohort = generate_cohort(seed=seed)
    with store.tx():
        for p in cohort:
            pid = records.insert_patient(store, p.pseudonym, p.display_name, None, p.consent_ml)
            records.insert_visits(
                store, pid, [{"visit_date": v.visit_date, "text": v.text, "source": "demo"} for v in p.visits], None
            )
        append_event(store, user_id=None, username="system", action="demo.seed", entity="demo",
                     details={"patients": len(cohort), "seed": seed})
    return len(cohort)


def _unscored(store: Store, encoder, patient_id: int | None = None) -> list[tuple[dict, str]]:

    todo = []
    for pid in records.all_patient_ids(store) if patient_id is None else [patient_id]:
        if not records.get_patient(store, pid)["consent_ml"]:
            continue
        for v in records.list_visits(store, pid):
            key = heads_cache_key(encoder, v["text_hash"])
            if records.find_analysis(store, v["id"], HEADS_KIND, HEADS_KIND, key) is None:
                todo.append((v, key))
    return todo


def unscored_visits(store: Store, encoder, patient_id: int | None = None) -> int:
    """How many consented demo visits (of one patient, or all) have no result from this heads version yet."""
    return len(_unscored(store, encoder, patient_id))


def score_demo_patient(ctx: Context, encoder, patient_id: int) -> int:
    """Score a demo patient's unscored visits as the patient opens (the synthetic cohort only, for whoever may see
    it: a clinical lead cannot run analyses, yet the demo shows scores). Returns the visits scored."""
    if not ctx.demo:
        raise PermissionDenied("Only the synthetic demo cohort is scored on opening; analyse real notes on purpose.")
    patient_for(ctx, patient_id)
    return score_demo(ctx.store, encoder, patient_id=patient_id)


def score_demo(store: Store, encoder, progress=None, *, patient_id: int | None = None) -> int:
    """Score every consented demo visit (of one patient, or all) with the heads, so trajectories show from the
    first click, whoever opens the demo (a clinical lead cannot run analyses) and after a heads upgrade.

    Uses the same cache key as a clinician's run, so nothing is scored twice.
    """

    todo = _unscored(store, encoder, patient_id)
    if not todo:
        return 0
    scores = backends.score_texts(encoder, [v["text"] for v, _ in todo], progress=progress)
    with store.tx():
        for (v, key), out in zip(todo, scores):
            records.insert_analysis(store, visit_id=v["id"], kind=HEADS_KIND, task=HEADS_KIND, outputs=out,
                                    model_id=encoder.model_id, model_version=encoder.version, cache_key=key)
        append_event(store, user_id=None, username="system", action="model.run", entity="demo",
                     details={"visits": len(todo), "model_version": encoder.version})
    return len(todo)


def reset_demo(store: Store, *, seed: int = 7) -> int:
    """Empty the demo database and seed it again (demo data only: refuses non-demo rows)."""

    wipe_demo(store)
    return seed_demo(store, seed=seed)


def mirror_user(store: Store, user: User) -> None:
    """Make the logged-in account known to the demo database (foreign keys of visits, sign-offs)."""

    _mirror(store, user.id, user.username, user.display_name, user.role)


def reset_for(ctx, encoder=None) -> int:
    """A clinical lead resets the demo cohort from the UI (demo database only), re-scoring it when given an encoder."""
    ctx.require("demo.manage")
    if not ctx.demo:
        raise ValidationError("Switch on demo mode first: only the demo database can be reset.")
    n = reset_demo(ctx.store)
    mirror_user(ctx.store, ctx.user)
    if encoder is not None:
        score_demo(ctx.store, encoder)
    ctx.audit("demo.reset", "demo", "", patients=n)
    return n
