"""Recorded, versioned schema migrations. Append only: never edit a shipped one.

Each migration is a function of the database; ``migrate`` applies the ones not
yet recorded in ``schema_migrations``, each inside its own transaction, so a
killed process leaves either the old or the new schema.
"""

from __future__ import annotations

import sqlite_utils

from core.storage.db import transaction, utcnow


def _m001_initial(db: sqlite_utils.Database) -> None:
    db.execute(
        """CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE,
            display_name TEXT NOT NULL DEFAULT '',
            role TEXT NOT NULL CHECK (role IN ('psychiatrist','clinical_lead','qa_reviewer','admin')),
            password_hash TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1,
            failed_logins INTEGER NOT NULL DEFAULT 0,
            locked_until TEXT,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE sessions (
            token_hash TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            created_at TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            revoked INTEGER NOT NULL DEFAULT 0
        )"""
    )
    db.execute(
        """CREATE TABLE patients (
            id INTEGER PRIMARY KEY,
            pseudonym TEXT NOT NULL UNIQUE,
            display_name TEXT NOT NULL DEFAULT '',
            owner_id INTEGER REFERENCES users(id),
            consent_ml INTEGER NOT NULL DEFAULT 0,
            consent_updated_at TEXT,
            notes TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE visits (
            id INTEGER PRIMARY KEY,
            patient_id INTEGER NOT NULL REFERENCES patients(id),
            visit_date TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT 'paste',
            text TEXT NOT NULL,
            text_hash TEXT NOT NULL,
            created_by INTEGER REFERENCES users(id),
            created_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX idx_visits_patient ON visits(patient_id, visit_date)")
    db.execute(
        """CREATE TABLE analyses (
            id INTEGER PRIMARY KEY,
            visit_id INTEGER NOT NULL REFERENCES visits(id),
            kind TEXT NOT NULL,
            task TEXT NOT NULL,
            outputs TEXT NOT NULL,
            model_id TEXT NOT NULL,
            model_version TEXT NOT NULL,
            prompt_version TEXT NOT NULL DEFAULT '',
            cache_key TEXT NOT NULL DEFAULT '',
            duration_ms REAL NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft','signed')),
            signed_by INTEGER REFERENCES users(id),
            signed_at TEXT,
            created_by INTEGER REFERENCES users(id),
            created_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX idx_analyses_visit ON analyses(visit_id, kind, task)")
    db.execute("CREATE INDEX idx_analyses_cache ON analyses(cache_key)")
    # Signed outputs are immutable, enforced by the database itself.
    db.execute(
        """CREATE TRIGGER analyses_signed_immutable BEFORE UPDATE ON analyses
           WHEN OLD.status = 'signed'
           BEGIN SELECT RAISE(ABORT, 'signed analysis is immutable'); END"""
    )
    db.execute(
        """CREATE TRIGGER analyses_signed_undeletable BEFORE DELETE ON analyses
           WHEN OLD.status = 'signed'
           BEGIN SELECT RAISE(ABORT, 'signed analysis is immutable'); END"""
    )
    db.execute(
        """CREATE TABLE model_cache (
            cache_key TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            outputs TEXT NOT NULL,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE crisis_acks (
            id INTEGER PRIMARY KEY,
            visit_id INTEGER NOT NULL REFERENCES visits(id),
            user_id INTEGER REFERENCES users(id),
            acknowledged_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE review_items (
            analysis_id INTEGER PRIMARY KEY REFERENCES analyses(id),
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','in_review','resolved')),
            priority REAL NOT NULL DEFAULT 0,
            required_reviews INTEGER NOT NULL DEFAULT 1,
            locked_by INTEGER REFERENCES users(id),
            locked_at TEXT,
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE flags (
            id INTEGER PRIMARY KEY,
            analysis_id INTEGER NOT NULL REFERENCES analyses(id),
            reviewer_id INTEGER NOT NULL REFERENCES users(id),
            decision TEXT NOT NULL CHECK (decision IN ('approve','flag','skip')),
            reason TEXT,
            severity TEXT,
            comment TEXT NOT NULL DEFAULT '',
            corrected_label TEXT,
            corrected_scores TEXT,
            corrected_rationale TEXT,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX idx_flags_analysis ON flags(analysis_id)")
    db.execute(
        """CREATE TABLE audit_events (
            id INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,
            user_id INTEGER,
            username TEXT NOT NULL DEFAULT '',
            action TEXT NOT NULL,
            entity TEXT NOT NULL DEFAULT '',
            entity_id TEXT NOT NULL DEFAULT '',
            details TEXT NOT NULL DEFAULT '{}',
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )"""
    )
    # Append-only: the audit trail can be added to, never changed.
    db.execute(
        """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_events
           BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END"""
    )
    db.execute(
        """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_events
           BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END"""
    )


def _m002_prediction_log(db: sqlite_utils.Database) -> None:
    db.execute(
        """CREATE TABLE prediction_log (
            id INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            text_hash TEXT NOT NULL,
            model_version TEXT NOT NULL,
            outputs TEXT NOT NULL,
            latency_ms REAL NOT NULL,
            caller TEXT NOT NULL DEFAULT ''
        )"""
    )
    db.execute("CREATE INDEX idx_prediction_log_ts ON prediction_log(ts)")


def _m003_review(db: sqlite_utils.Database) -> None:
    # Review queue: who an item is assigned to, which review round it is in (send back for re-review
    # starts a new round), and the confidence / crisis facts its priority was computed from.
    db.execute("ALTER TABLE review_items ADD COLUMN assigned_to INTEGER REFERENCES users(id)")
    db.execute("ALTER TABLE review_items ADD COLUMN round INTEGER NOT NULL DEFAULT 1")
    db.execute("ALTER TABLE review_items ADD COLUMN confidence REAL")
    db.execute("ALTER TABLE review_items ADD COLUMN crisis INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE flags ADD COLUMN round INTEGER NOT NULL DEFAULT 1")
    db.execute("CREATE INDEX idx_review_items_queue ON review_items(status, priority)")
    db.execute("CREATE INDEX idx_flags_reviewer ON flags(reviewer_id, created_at)")
    db.execute(
        """CREATE TABLE adjudications (
            id INTEGER PRIMARY KEY,
            analysis_id INTEGER NOT NULL REFERENCES analyses(id),
            round INTEGER NOT NULL,
            adjudicator_id INTEGER NOT NULL REFERENCES users(id),
            decision TEXT NOT NULL CHECK (decision IN ('approve','flag')),
            reason TEXT,
            severity TEXT,
            comment TEXT NOT NULL DEFAULT '',
            corrected_label TEXT,
            corrected_scores TEXT,
            corrected_rationale TEXT,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE UNIQUE INDEX idx_adjudications_round ON adjudications(analysis_id, round)")
    db.execute(
        """CREATE TABLE review_config (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_by INTEGER REFERENCES users(id),
            updated_at TEXT NOT NULL
        )"""
    )


def _m004_session_revocation(db: sqlite_utils.Database) -> None:
    # Changing a password, disabling an account or changing its role ends every live session of that account,
    # enforced by the database so no code path can forget it.
    db.execute(
        """CREATE TRIGGER users_revoke_sessions AFTER UPDATE OF password_hash, active, role ON users
           WHEN OLD.password_hash IS NOT NEW.password_hash OR OLD.active IS NOT NEW.active
                OR OLD.role IS NOT NEW.role
           BEGIN UPDATE sessions SET revoked = 1 WHERE user_id = NEW.id AND revoked = 0; END"""
    )
    db.execute("CREATE INDEX IF NOT EXISTS idx_sessions_user ON sessions(user_id, revoked)")


def _m007_label_source(db: sqlite_utils.Database) -> None:
    # Which model produced an output's label: a task head (its version) or the LLM (its version); the
    # model_version column keeps naming the model that wrote the text.
    db.execute("ALTER TABLE analyses ADD COLUMN label_source TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE analyses ADD COLUMN label_model_version TEXT NOT NULL DEFAULT ''")


def _m005_visit_indicators(db: sqlite_utils.Database) -> None:
    # Psycholinguistic indicators (word counts, no model) computed when a visit is saved, one row per version of
    # the word lists; visits saved before this migration get theirs when their patient is next opened.
    db.execute(
        """CREATE TABLE visit_indicators (
            visit_id INTEGER NOT NULL REFERENCES visits(id),
            version TEXT NOT NULL,
            outputs TEXT NOT NULL,
            duration_ms REAL NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            PRIMARY KEY (visit_id, version)
        )"""
    )


def _m006_crisis_results(db: sqlite_utils.Database) -> None:
    # The crisis check's result is stored when a visit is saved, so banners, lights and cohort counts read it
    # instead of recomputing; ``version`` names the detector that produced it (an older one is recomputed).
    # Acknowledgements carry a note and count for the whole care team.
    db.execute(
        """CREATE TABLE visit_crisis (
            visit_id INTEGER PRIMARY KEY REFERENCES visits(id),
            version TEXT NOT NULL,
            semantic TEXT NOT NULL DEFAULT 'off',
            flagged INTEGER NOT NULL DEFAULT 0,
            risk_factor INTEGER NOT NULL DEFAULT 0,
            result TEXT NOT NULL,
            computed_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE INDEX idx_visit_crisis_flagged ON visit_crisis(flagged)")
    db.execute("ALTER TABLE crisis_acks ADD COLUMN note TEXT NOT NULL DEFAULT ''")
    db.execute("CREATE INDEX IF NOT EXISTS idx_crisis_acks_visit ON crisis_acks(visit_id)")


def _m008_security_round_two(db: sqlite_utils.Database) -> None:
    # Forced password change at first login and after an admin reset.
    db.execute("ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0")
    # How a session was opened ('password' or 'oidc'): a single-sign-on session has no local password to change.
    db.execute("ALTER TABLE sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'password'")
    # Failed logins for usernames that have no account, so an unknown name locks exactly like a real one and
    # the lockout does not reveal which usernames exist. The name is kept only as a keyed digest.
    db.execute(
        """CREATE TABLE login_throttle (
            name_digest TEXT PRIMARY KEY,
            failed_logins INTEGER NOT NULL DEFAULT 0,
            locked_until TEXT,
            updated_at TEXT NOT NULL
        )"""
    )
    # Single sign-on identities: an account is bound to the provider's (issuer, subject), never to an e-mail alone.
    db.execute(
        """CREATE TABLE user_identities (
            issuer TEXT NOT NULL,
            subject TEXT NOT NULL,
            user_id INTEGER NOT NULL REFERENCES users(id),
            email TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            PRIMARY KEY (issuer, subject)
        )"""
    )
    db.execute("CREATE INDEX idx_user_identities_user ON user_identities(user_id, issuer)")
    # Keyed audit chain: 0 = a legacy event hashed with plain SHA-256 (before this migration), 1 = HMAC-SHA256
    # with the audit key kept outside the database. Adding a column is not an UPDATE: the append-only
    # triggers stay in force.
    db.execute("ALTER TABLE audit_events ADD COLUMN keyed INTEGER NOT NULL DEFAULT 0")


def _m009_signoff_loop(db: sqlite_utils.Database) -> None:
    # Sign-off carries an optional note; a signed output is never edited, but it can be superseded, with the
    # reason, by whom and when recorded here (append-only, like the audit trail).
    db.execute("ALTER TABLE analyses ADD COLUMN sign_note TEXT NOT NULL DEFAULT ''")
    db.execute(
        """CREATE TABLE supersessions (
            analysis_id INTEGER PRIMARY KEY REFERENCES analyses(id),
            reason TEXT NOT NULL CHECK (length(trim(reason)) > 0),
            user_id INTEGER NOT NULL REFERENCES users(id),
            created_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TRIGGER supersessions_no_update BEFORE UPDATE ON supersessions
           BEGIN SELECT RAISE(ABORT, 'a supersession is permanent'); END"""
    )
    db.execute(
        """CREATE TRIGGER supersessions_no_delete BEFORE DELETE ON supersessions
           BEGIN SELECT RAISE(ABORT, 'a supersession is permanent'); END"""
    )


def _m010_rationale_jobs(db: sqlite_utils.Database) -> None:
    # The background queue of language-model rationales: one job per "Analyse" (a patient, the chosen tasks,
    # who asked), one item per (visit, task). Kept in the database so a page change, a second browser tab or a
    # restarted server sees the same queue, and a job left running by a killed worker is found again.
    db.execute(
        """CREATE TABLE rationale_jobs (
            id INTEGER PRIMARY KEY,
            patient_id INTEGER NOT NULL REFERENCES patients(id),
            user_id INTEGER NOT NULL REFERENCES users(id),
            tasks TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('queued','running','done','cancelled','failed')),
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            worker TEXT NOT NULL DEFAULT '',
            heartbeat TEXT,
            error TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            started_at TEXT,
            finished_at TEXT
        )"""
    )
    db.execute("CREATE INDEX idx_rationale_jobs_state ON rationale_jobs(state, id)")
    db.execute("CREATE INDEX idx_rationale_jobs_patient ON rationale_jobs(patient_id, id)")
    db.execute(
        """CREATE TABLE rationale_job_items (
            id INTEGER PRIMARY KEY,
            job_id INTEGER NOT NULL REFERENCES rationale_jobs(id),
            visit_id INTEGER NOT NULL REFERENCES visits(id),
            task TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('queued','running','done','cancelled','failed')),
            analysis_id INTEGER,  -- the stored output (no foreign key: a draft output may be deleted)
            error TEXT NOT NULL DEFAULT '',
            started_at TEXT,
            finished_at TEXT
        )"""
    )
    db.execute("CREATE INDEX idx_rationale_job_items_job ON rationale_job_items(job_id, id)")


MIGRATIONS = [
    (1, "initial schema", _m001_initial),
    (2, "prediction log", _m002_prediction_log),
    (3, "review queue: assignment, rounds, adjudication", _m003_review),
    (4, "sessions end when a password, role or account status changes", _m004_session_revocation),
    (5, "psycholinguistic indicators per visit", _m005_visit_indicators),
    (6, "stored crisis results; acknowledgement notes", _m006_crisis_results),
    (7, "analyses record which model produced the label", _m007_label_source),
    (8, "forced password change, login throttle, SSO identities, keyed audit chain", _m008_security_round_two),
    (9, "sign-off note and superseded signed outputs", _m009_signoff_loop),
    (10, "background queue of language-model rationales", _m010_rationale_jobs),
]


def migrate(db: sqlite_utils.Database) -> list[int]:
    """Apply pending migrations; returns the versions applied (idempotent)."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT)"
    )
    done = {row[0] for row in db.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for version, name, fn in MIGRATIONS:
        if version in done:
            continue
        with transaction(db):
            # BEGIN IMMEDIATE holds the write lock: another process (the app starting while init-db runs) may
            # have applied this version since we looked.
            if db.execute("SELECT 1 FROM schema_migrations WHERE version = ?", [version]).fetchone():
                continue
            fn(db)
            db.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                [version, name, utcnow()],
            )
        applied.append(version)
    return applied


def schema_version(db: sqlite_utils.Database) -> int:
    if "schema_migrations" not in db.table_names():
        return 0
    row = db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    return row[0] or 0
