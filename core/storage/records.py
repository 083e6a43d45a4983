"""Data access for patients, visits, analyses, caches and crisis results.

All SQL of these tables lives here, every value bound as a parameter. Callers
pass a ``Store``; writes happen inside ``store.tx()`` so nothing is stored
partially.
"""

from __future__ import annotations

import hashlib
import json

from core.errors import (
    AnalysisNotFound,
    PatientNotFound,
    SignedImmutable,
    StorageError,
    ValidationError,
    VisitNotFound,
)
from core.storage.db import DB_ERRORS, Store, query_one, query_rows, utcnow


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# ---------------------------------------------------------------- patients
_PATIENT_SORTS = {
    "pseudonym": "p.pseudonym",
    "name": "p.display_name",
    "last_visit": "last_visit",
    "visits": "visit_count",
    "created": "p.created_at",
}


def insert_patient(store: Store, pseudonym: str, display_name: str, owner_id: int | None, consent_ml: bool) -> int:
    now = utcnow()
    try:
        with store.tx():
            cur = store.db.execute(
                "INSERT INTO patients (pseudonym, display_name, owner_id, consent_ml, consent_updated_at,"
                " created_at, updated_at) VALUES (?,?,?,?,?,?,?)",
                [pseudonym, display_name, owner_id, int(consent_ml), now, now, now],
            )
    except StorageError as exc:
        if "UNIQUE" in str(exc):
            raise ValidationError(f"A patient with pseudonym {pseudonym!r} already exists") from exc
        raise
    return cur.lastrowid


def update_patient(store: Store, patient_id: int, *, display_name=None, consent_ml=None, notes=None) -> None:
    get_patient(store, patient_id)
    now = utcnow()
    with store.tx():
        if display_name is not None:
            store.db.execute(
                "UPDATE patients SET display_name = ?, updated_at = ? WHERE id = ?", [display_name, now, patient_id]
            )
        if notes is not None:
            store.db.execute("UPDATE patients SET notes = ?, updated_at = ? WHERE id = ?", [notes, now, patient_id])
        if consent_ml is not None:
            store.db.execute(
                "UPDATE patients SET consent_ml = ?, consent_updated_at = ?, updated_at = ? WHERE id = ?",
                [int(consent_ml), now, now, patient_id],
            )


def get_patient(store: Store, patient_id: int) -> dict:
    row = query_one(store, "SELECT * FROM patients WHERE id = ?", [patient_id])
    if row is None:
        raise PatientNotFound(f"No patient with id {patient_id}")
    return row


def list_patients(
    store: Store,
    *,
    owner_id: int | None = None,
    search: str = "",
    sort: str = "last_visit",
    descending: bool = True,
    limit: int = 25,
    offset: int = 0,
) -> tuple[list[dict], int]:
    """One page of patients with last visit date and visit count, plus the total."""
    where, params = [], []
    if owner_id is not None:
        where.append("p.owner_id = ?")
        params.append(owner_id)
    if search:
        where.append("(p.pseudonym LIKE ? ESCAPE '\\' OR p.display_name LIKE ? ESCAPE '\\')")
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        params += [pattern, pattern]
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    order = _PATIENT_SORTS.get(sort, "last_visit")
    direction = "DESC" if descending else "ASC"
    total = store.db.execute(f"SELECT COUNT(*) FROM patients p {clause}", params).fetchone()[0]
    rows = query_rows(
        store,
        f"""SELECT p.*, v.last_visit, COALESCE(v.visit_count, 0) AS visit_count
            FROM patients p
            LEFT JOIN (SELECT patient_id, MAX(visit_date) AS last_visit, COUNT(*) AS visit_count
                       FROM visits GROUP BY patient_id) v ON v.patient_id = p.id
            {clause}
            ORDER BY {order} IS NULL, {order} {direction}, p.id
            LIMIT ? OFFSET ?""",
        [*params, int(limit), int(offset)],
    )
    return rows, total


def all_patient_ids(store: Store) -> list[int]:
    return [r[0] for r in store.db.execute("SELECT id FROM patients ORDER BY id").fetchall()]


# ---------------------------------------------------------------- visits
def insert_visits(store: Store, patient_id: int, visits: list[dict], created_by: int | None) -> list[int]:
    """Insert many visits atomically: all or none. Each dict: visit_date, text, source."""
    get_patient(store, patient_id)
    ids = []
    now = utcnow()
    with store.tx():
        for v in visits:
            cur = store.db.execute(
                "INSERT INTO visits (patient_id, visit_date, source, text, text_hash, created_by, created_at)"
                " VALUES (?,?,?,?,?,?,?)",
                [patient_id, v["visit_date"], v.get("source", "paste"), v["text"], text_hash(v["text"]),
                 created_by, now],
            )
            ids.append(cur.lastrowid)
    return ids


def get_visit(store: Store, visit_id: int) -> dict:
    row = query_one(store, "SELECT * FROM visits WHERE id = ?", [visit_id])
    if row is None:
        raise VisitNotFound(f"No visit with id {visit_id}")
    return row


def list_visits(store: Store, patient_id: int) -> list[dict]:
    return query_rows(store, "SELECT * FROM visits WHERE patient_id = ? ORDER BY visit_date, id", [patient_id])


def count_visits(store: Store) -> int:
    return store.db.execute("SELECT COUNT(*) FROM visits").fetchone()[0]


# ---------------------------------------------------------------- analyses
def _decode_analysis(row: dict) -> dict:
    row["outputs"] = json.loads(row["outputs"])
    return row


def insert_analysis(store: Store, *, visit_id: int, kind: str, task: str, outputs: dict, model_id: str,
                    model_version: str, prompt_version: str = "", cache_key: str = "",
                    duration_ms: float = 0.0, created_by: int | None = None, label_source: str = "",
                    label_model_version: str = "") -> int:
    """One model output. `label_source` ("task_head", "llm", "" for none) and `label_model_version` name the
    model that produced the label, which for a task-head answer is not the LLM that wrote the rationale."""
    with store.tx():
        cur = store.db.execute(
            "INSERT INTO analyses (visit_id, kind, task, outputs, model_id, model_version, prompt_version,"
            " cache_key, duration_ms, created_by, created_at, label_source, label_model_version)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [visit_id, kind, task, json.dumps(outputs, ensure_ascii=False), model_id, model_version,
             prompt_version, cache_key, float(duration_ms), created_by, utcnow(), label_source or "",
             label_model_version or ""],
        )
    return cur.lastrowid


def get_analysis(store: Store, analysis_id: int) -> dict:
    row = query_one(store, "SELECT a.*, u.username AS signed_by_name, u.display_name AS signed_by_display FROM analyses a"
                      " LEFT JOIN users u ON u.id = a.signed_by WHERE a.id = ?", [analysis_id])
    if row is None:
        raise AnalysisNotFound(f"No analysis with id {analysis_id}")
    return _decode_analysis(row)


def find_analysis(store: Store, visit_id: int, kind: str, task: str, cache_key: str) -> dict | None:
    row = query_one(
        store,
        "SELECT * FROM analyses WHERE visit_id = ? AND kind = ? AND task = ? AND cache_key = ?"
        " AND id NOT IN (SELECT analysis_id FROM supersessions) ORDER BY id DESC",
        [visit_id, kind, task, cache_key],
    )
    return _decode_analysis(row) if row else None


def list_analyses(store: Store, visit_ids: list[int]) -> list[dict]:
    if not visit_ids:
        return []
    marks = ",".join("?" for _ in visit_ids)
    rows = query_rows(store, "SELECT a.*, u.username AS signed_by_name, u.display_name AS signed_by_display FROM analyses a"
                        f" LEFT JOIN users u ON u.id = a.signed_by WHERE a.visit_id IN ({marks}) ORDER BY a.id", visit_ids)
    return [_decode_analysis(r) for r in rows]


def list_patient_analyses(store: Store, patient_id: int) -> list[dict]:
    rows = query_rows(
        store,
        "SELECT a.*, v.visit_date, u.username AS signed_by_name, u.display_name AS signed_by_display"
        " FROM analyses a JOIN visits v ON v.id = a.visit_id"
        " LEFT JOIN users u ON u.id = a.signed_by WHERE v.patient_id = ? ORDER BY v.visit_date, a.id",
        [patient_id],
    )
    return [_decode_analysis(r) for r in rows]


def model_versions_in_use(store: Store, kind: str) -> set[str]:
    """The model versions that stored results of this kind name."""
    rows = query_rows(store, "SELECT DISTINCT model_version FROM analyses WHERE kind = ?", [kind])
    return {r["model_version"] for r in rows if r["model_version"]}


def unsigned_by_patient(store: Store) -> dict[int, int]:
    """Draft (unsigned) outputs per patient id, in one query (cohort views)."""
    rows = query_rows(store, "SELECT v.patient_id, COUNT(*) AS n FROM analyses a JOIN visits v ON v.id = a.visit_id"
                        " WHERE a.status = 'draft' GROUP BY v.patient_id", [])
    return {r["patient_id"]: r["n"] for r in rows}


def latest_analyses_by_patient(store: Store, kind: str) -> list[dict]:
    """For each patient, every analysis of ``kind`` with its visit date (for cohort views)."""
    rows = query_rows(
        store,
        "SELECT a.*, v.visit_date, v.patient_id FROM analyses a JOIN visits v ON v.id = a.visit_id"
        " WHERE a.kind = ? ORDER BY v.patient_id, v.visit_date, a.id",
        [kind],
    )
    return [_decode_analysis(r) for r in rows]


def sign_analysis(store: Store, analysis_id: int, user_id: int, note: str = "") -> None:
    row = get_analysis(store, analysis_id)
    if row["status"] == "signed":
        raise SignedImmutable(f"Analysis {analysis_id} is already signed")
    with store.tx(durable=True):
        store.db.execute(
            "UPDATE analyses SET status = 'signed', signed_by = ?, signed_at = ?, sign_note = ?"
            " WHERE id = ? AND status = 'draft'",
            [user_id, utcnow(), note, analysis_id],
        )


def delete_draft_analysis(store: Store, analysis_id: int) -> None:
    try:
        with store.tx():
            store.db.execute("DELETE FROM analyses WHERE id = ?", [analysis_id])
    except StorageError as exc:
        if "immutable" in str(exc):
            raise SignedImmutable(f"Analysis {analysis_id} is signed and cannot be removed") from exc
        raise


# ---------------------------------------------------------------- model cache
def cache_get(store: Store, cache_key: str) -> dict | None:
    row = query_one(store, "SELECT outputs FROM model_cache WHERE cache_key = ?", [cache_key])
    return json.loads(row["outputs"]) if row else None


def cache_put(store: Store, cache_key: str, kind: str, outputs: dict) -> None:
    with store.tx():
        store.db.execute(
            "INSERT OR REPLACE INTO model_cache (cache_key, kind, outputs, created_at) VALUES (?,?,?,?)",
            [cache_key, kind, json.dumps(outputs, ensure_ascii=False), utcnow()],
        )


# ---------------------------------------------------------------- crisis results and acknowledgements
def insert_crisis_ack(store: Store, visit_id: int, user_id: int | None, note: str = "") -> int:
    with store.tx(durable=True):
        cur = store.db.execute(
            "INSERT INTO crisis_acks (visit_id, user_id, acknowledged_at, note) VALUES (?,?,?,?)",
            [visit_id, user_id, utcnow(), note],
        )
    return cur.lastrowid


def crisis_acks(store: Store, visit_id: int) -> list[dict]:
    return query_rows(
        store,
        "SELECT c.*, u.username, u.display_name, u.role FROM crisis_acks c LEFT JOIN users u ON u.id = c.user_id"
        " WHERE visit_id = ? ORDER BY c.id",
        [visit_id],
    )


def put_visit_crisis(store: Store, visit_id: int, *, version: str, semantic: str, flagged: bool,
                     risk_factor: bool, result: dict) -> None:
    with store.tx():
        store.db.execute(
            "INSERT OR REPLACE INTO visit_crisis (visit_id, version, semantic, flagged, risk_factor, result,"
            " computed_at) VALUES (?,?,?,?,?,?,?)",
            [visit_id, version, semantic, int(flagged), int(risk_factor), json.dumps(result, ensure_ascii=False),
             utcnow()],
        )


def visit_crisis(store: Store, visit_ids: list[int]) -> dict[int, dict]:
    """Stored crisis results by visit id (``result`` parsed); visits without one are absent."""
    out: dict[int, dict] = {}
    ids = [int(v) for v in visit_ids]
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))  # placeholders only; the values are bound
        for row in query_rows(store, f"SELECT * FROM visit_crisis WHERE visit_id IN ({marks})", chunk):
            row["result"] = json.loads(row["result"])
            out[row["visit_id"]] = row
    return out


def visits_needing_crisis_check(store: Store, family: str, patient_ids: list[int] | None = None) -> list[dict]:
    """Visits (id, patient_id, text) with no stored crisis result of this detector family (``family`` or
    ``family.<minor>``)."""
    sql = ("SELECT v.id, v.patient_id, v.text FROM visits v LEFT JOIN visit_crisis c ON c.visit_id = v.id"
           " WHERE (c.visit_id IS NULL OR (c.version != ? AND substr(c.version, 1, ?) != ?))")
    params: list = [family, len(family) + 1, family + "."]
    if patient_ids is not None:
        if not patient_ids:
            return []
        sql += f" AND v.patient_id IN ({','.join('?' * len(patient_ids))})"
        params += [int(p) for p in patient_ids]
    return query_rows(store, sql + " ORDER BY v.id", params)


def crisis_state_by_patient(store: Store, patient_ids: list[int] | None = None) -> dict[int, dict]:
    """Per patient: visits whose stored result flags crisis, and how many of them nobody has acknowledged."""
    sql = ("SELECT v.patient_id AS patient_id, COUNT(*) AS flagged,"
           " SUM(CASE WHEN EXISTS (SELECT 1 FROM crisis_acks a WHERE a.visit_id = v.id) THEN 0 ELSE 1 END)"
           " AS unacknowledged, MAX(v.visit_date) AS last_flagged"
           " FROM visits v JOIN visit_crisis c ON c.visit_id = v.id WHERE c.flagged = 1")
    params: list = []
    if patient_ids is not None:
        if not patient_ids:
            return {}
        sql += f" AND v.patient_id IN ({','.join('?' * len(patient_ids))})"
        params += [int(p) for p in patient_ids]
    return {r["patient_id"]: r for r in query_rows(store, sql + " GROUP BY v.patient_id", params)}


def is_integrity_ok(store: Store) -> bool:
    try:
        return store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    except DB_ERRORS:  # sqlite3's or SQLCipher's: a file that cannot be read is not intact
        return False


def recent_durations(store: Store, kind: str, limit: int = 50, *, skip_key_prefix: str = "") -> list[float]:
    """Run times (ms) of the newest ``limit`` stored analyses of one kind (no patient data), leaving out those
    whose cache key starts with ``skip_key_prefix`` (another model's outputs stored under the same kind)."""
    return [r[0] for r in store.db.execute(
        "SELECT duration_ms FROM analyses WHERE kind = ? AND duration_ms > 0"
        " AND (? = '' OR substr(cache_key, 1, length(?)) != ?) ORDER BY id DESC LIMIT ?",
        [kind, skip_key_prefix, skip_key_prefix, skip_key_prefix, int(limit)]).fetchall()]
