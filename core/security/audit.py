"""The audit trail as a service: search, verify and export, for administrators only.

Storage keeps the trail append-only and hash-chained (``core.storage.audit``);
this module adds the permission check, filters a person can use, a CSV export
safe to open in a spreadsheet, and audits its own use (looking at the trail
is itself recorded).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime

from core.errors import ValidationError
from core.security.auth import User, require
from core.storage import Store
from core.storage.audit import append_event, list_events, verify_report, write_checkpoint

__all__ = ["AuditResult", "AuditFilter", "verify", "search", "export_csv", "actions", "checkpoint"]

# How many most recent events a search looks through; filters then apply in order.
SEARCH_WINDOW = 50_000
EXPORT_COLUMNS = ["id", "ts", "user_id", "username", "action", "entity", "entity_id", "details", "prev_hash", "hash"]


@dataclass(frozen=True)
class AuditResult:
    ok: bool
    first_bad_id: int | None
    checked: int
    legacy: int = 0            # events from before the audit key (plain SHA-256, anchored by the first keyed one)
    checkpoints: int = 0       # signed checkpoints compared with the trail
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuditFilter:
    username: str = ""
    action: str = ""          # exact, or a prefix ending in '.' ("auth.")
    entity: str = ""
    entity_id: str = ""
    since: date | None = None
    until: date | None = None  # inclusive
    limit: int = 500


def _log(store: Store, actor: User, action: str, **details) -> None:
    append_event(store, user_id=actor.id or None, username=actor.username, action=action, entity="audit",
                 details=details)


def verify(store: Store, actor: User | None, checkpoint_files: tuple = ()) -> AuditResult:
    """Check the whole keyed chain and every signed checkpoint (the log beside the database plus exported
    copies given in ``checkpoint_files``); records that the check was made and its outcome. A trail that
    verifies is checkpointed afterwards."""
    require(actor, "audit.read")
    report = verify_report(store, tuple(checkpoint_files))
    _log(store, actor, "audit.verify", ok=report.ok, first_bad_id=report.first_bad_id, checked=report.checked,
         checkpoints=report.checkpoints, problems=report.problems[:5])
    if report.ok:
        write_checkpoint(store, reason="verify")
    return AuditResult(report.ok, report.first_bad_id, report.checked, report.legacy, report.checkpoints,
                       tuple(report.problems))


def checkpoint(store: Store, actor: User | None) -> dict:
    """A signed checkpoint of the chain head (also appended to the log beside the database), for the operator
    to keep off the host: a later ``verify`` with that copy detects a cut-off or rolled-back trail."""
    require(actor, "audit.read")
    _log(store, actor, "audit.checkpoint")
    return write_checkpoint(store, reason="export")


def _matches(row: dict, f: AuditFilter) -> bool:
    if f.action.endswith(".") and not row["action"].startswith(f.action):
        return False
    if f.entity_id and str(row["entity_id"]) != str(f.entity_id).strip():
        return False
    day = row["ts"][:10]
    if f.since and day < f.since.isoformat():
        return False
    return not (f.until and day > f.until.isoformat())


def _query(store: Store, f: AuditFilter) -> list[dict]:
    if f.since and f.until and f.since > f.until:
        raise ValidationError("The start date is after the end date.")
    limit = max(1, min(int(f.limit), SEARCH_WINDOW))
    exact_action = "" if f.action.endswith(".") else f.action.strip()
    rows = list_events(store, action=exact_action, username=f.username.strip(), entity=f.entity.strip(),
                       limit=SEARCH_WINDOW)
    out = []
    for row in rows:
        if _matches(row, f):
            out.append(row)
            if len(out) >= limit:
                break
    return out


def search(store: Store, actor: User | None, f: AuditFilter | None = None) -> list[dict]:
    """The newest events matching ``f`` (newest first); ``details`` decoded."""
    require(actor, "audit.read")
    f = f or AuditFilter()
    rows = _query(store, f)
    for row in rows:
        try:
            row["details"] = json.loads(row["details"])
        except (TypeError, ValueError):
            pass
    _log(store, actor, "audit.view", filters=_describe(f), results=len(rows))
    return rows


def _describe(f: AuditFilter) -> dict:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in f.__dict__.items() if v not in ("", None)}


def _cell(value) -> str:
    text = "" if value is None else str(value)
    # Spreadsheets run cells starting with these as formulas (CSV injection).
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


def export_csv(store: Store, actor: User | None, f: AuditFilter | None = None, *, action: str = "",
               username: str = "") -> str:
    """The matching events (oldest first) as CSV, with hashes so a reader can re-check the chain."""
    require(actor, "audit.read")
    f = f or AuditFilter(action=action, username=username, limit=SEARCH_WINDOW)
    rows = list(reversed(_query(store, f)))
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row[c]) for c in EXPORT_COLUMNS])
    _log(store, actor, "audit.export", filters=_describe(f), rows=len(rows),
         at=datetime.now().astimezone().isoformat(timespec="seconds"))
    write_checkpoint(store, reason="export")
    return buf.getvalue()


def actions(store: Store, actor: User | None) -> list[str]:
    """Distinct action names seen recently, for a filter menu."""
    require(actor, "audit.read")
    return sorted({r["action"] for r in list_events(store, limit=5_000)})
