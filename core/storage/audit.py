"""The append-only, keyed, hash-chained audit trail, with signed checkpoints kept outside the database.

Each event's MAC covers its id, the previous event's MAC and its own fields:
HMAC-SHA256 under the audit key, which lives outside the database (``MHD_AUDIT_KEY``
/ ``audit_key_file``, else ``audit.key`` beside the database, mode 0600). Someone
who can write the database file but not read the key cannot edit, delete or
insert an event and recompute the chain. The database refuses UPDATE and DELETE
on the table (triggers); ``verify_chain`` finds rows changed behind its back.

A chain alone cannot show that its newest events were cut off, or that the whole
file was swapped for an older backup: both leave a shorter chain that verifies.
So the head of the chain is kept, signed with the same key, outside the database:
``<db>.audit-head.json`` is rewritten after every commit that added events (under a
file lock, so it only moves forward), and ``<db>.audit-checkpoints.jsonl`` gets an
appended checkpoint (event id, MAC, number of events) every ``CHECKPOINT_EVERY``
events and whenever the trail is verified, exported or backed up, or the database
restored. ``verify`` checks the head and every checkpoint against the database: a
signed event that is missing or different means events were removed or the database
rolled back. The operator copies the log (or ``python -m core audit checkpoint``) off
the host, where nobody on it can rewrite it.

Events written before the key existed (``keyed = 0``, plain SHA-256) stay verifiable
as a prefix of the chain; the first keyed event covers the last of them, so they are
anchored to the key from then on.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import ConfigError
from core.settings import load_settings
from core.storage.db import Store, utcnow

GENESIS = "0" * 64
# A checkpoint of the chain head after this many events (and at every verify, export, backup and restore).
CHECKPOINT_EVERY = 50
KEY_FILE_NAME = "audit.key"
MIN_AUDIT_KEY_LENGTH = 32


# ---------------------------------------------------------------- the key
_MEMORY_KEY = secrets.token_bytes(32)  # an in-memory database lives and dies with the process


def key_file_for(db_path: Path | str) -> Path:
    return Path(db_path).parent / KEY_FILE_NAME


def _read_or_create_key_file(path: Path) -> bytes:
    """The key in ``path``, created (random, mode 0600, atomically: two processes agree on one) when missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # fails when another process created it first: then theirs is the key
        except FileExistsError:
            pass
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read the audit key {path}: {exc}") from exc
    if len(text) < MIN_AUDIT_KEY_LENGTH:
        raise ConfigError(f"The audit key in {path} is too short ({len(text)} characters; at least "
                          f"{MIN_AUDIT_KEY_LENGTH}).")
    return text.encode("utf-8")


def resolve_key(store: Store) -> bytes:
    """The audit key of ``store``: given to the Store, else configured, else the key file beside the database."""
    cached = getattr(store, "_audit_key_bytes", None)
    if cached is not None:
        return cached
    given = getattr(store, "audit_key", None)
    if given:
        key = given.encode("utf-8") if isinstance(given, str) else bytes(given)
    elif str(store.path) == ":memory:":
        key = _MEMORY_KEY
    else:
        settings = load_settings()
        if settings.audit_key:
            key = settings.audit_key.encode("utf-8")
        else:
            key = _read_or_create_key_file(Path(settings.audit_key_file) if settings.audit_key_file
                                           else key_file_for(store.path))
    if len(key) < MIN_AUDIT_KEY_LENGTH:
        raise ConfigError(f"The audit key is too short; use at least {MIN_AUDIT_KEY_LENGTH} characters.")
    store._audit_key_bytes = key
    return key


def checkpoint_log_for(store: Store) -> Path | None:
    if str(store.path) == ":memory:":
        return None
    path = Path(store.path)
    return path.with_name(f"{path.name}.audit-checkpoints.jsonl")


def head_file_for(store: Store) -> Path | None:
    if str(store.path) == ":memory:":
        return None
    path = Path(store.path)
    return path.with_name(f"{path.name}.audit-head.json")


# ---------------------------------------------------------------- MACs
def _payload(prev_hash: str, ts: str, user_id, username: str, action: str, entity: str, entity_id: str,
             details: str) -> bytes:
    return json.dumps([prev_hash, ts, user_id, username, action, entity, entity_id, details],
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")


def _digest(prev_hash: str, ts: str, user_id, username: str, action: str, entity: str, entity_id: str,
            details: str) -> str:
    """The legacy, unkeyed SHA-256 of an event written before the audit key existed."""
    return hashlib.sha256(_payload(prev_hash, ts, user_id, username, action, entity, entity_id, details)).hexdigest()


def _mac(key: bytes, event_id: int, prev_hash: str, ts: str, user_id, username: str, action: str, entity: str,
         entity_id: str, details: str) -> str:
    body = b"mhdash-audit-v2\x1f" + str(int(event_id)).encode() + b"\x1f" + _payload(
        prev_hash, ts, user_id, username, action, entity, entity_id, details)
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def _checkpoint_mac(key: bytes, record: dict) -> str:
    fields = {k: record[k] for k in sorted(record) if k != "mac"}
    body = b"mhdash-audit-checkpoint-v1\x1f" + json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- appending
def append_event(store: Store, *, user_id: int | None, username: str, action: str, entity: str = "",
                 entity_id="", details: dict | None = None) -> int:
    """Append one event. Joins the caller's transaction when there is one, so a record and its event
    commit together or not at all."""
    key = resolve_key(store)
    details_json = json.dumps(details or {}, ensure_ascii=False, sort_keys=True, default=str)
    entity_id = str(entity_id)
    with store.tx():
        row = store.db.execute("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1").fetchone()
        prev = row[1] if row else GENESIS
        event_id = (row[0] if row else 0) + 1
        ts = utcnow()
        mac = _mac(key, event_id, prev, ts, user_id, username, action, entity, entity_id, details_json)
        store.db.execute(
            "INSERT INTO audit_events (id, ts, user_id, username, action, entity, entity_id, details, prev_hash,"
            " hash, keyed) VALUES (?,?,?,?,?,?,?,?,?,?,1)",
            [event_id, ts, user_id, username, action, entity, entity_id, details_json, prev, mac],
        )
        # Only a committed head is signed outside the database: an event inside a caller's transaction may
        # still roll back.
        if event_id % CHECKPOINT_EVERY == 0:
            store._local.audit_log_due = True
        store.after_commit(_hook(store))
    return event_id


def _hook(store: Store):
    hook = getattr(store, "_audit_after_commit", None)
    if hook is None:
        def hook():
            due = getattr(store._local, "audit_log_due", False)
            store._local.audit_log_due = False
            with contextlib.suppress(OSError):
                write_head(store)
                if due:
                    write_checkpoint(store, reason="periodic")
        store._audit_after_commit = hook
    return hook


def write_head(store: Store) -> dict | None:
    """Sign the current head and put it in the head file, atomically and only forward (under a file lock, the head
    is read after the lock is held, so a slower writer never puts back an older head)."""
    import fcntl

    path = head_file_for(store)
    if path is None:
        return None
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        row = store.db.execute("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1").fetchone()
        record = {"kind": "head", "ts": utcnow(), "event_id": row[0] if row else 0, "hash": row[1] if row else GENESIS}
        record["mac"] = _checkpoint_mac(resolve_key(store), record)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(record, sort_keys=True))
        os.replace(tmp, path)
    return record


def list_events(store: Store, *, action: str = "", username: str = "", entity: str = "", limit: int = 200,
                offset: int = 0) -> list[dict]:
    where, params = [], []
    for col, val in (("action", action), ("username", username), ("entity", entity)):
        if val:
            where.append(f"{col} = ?")
            params.append(val)
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    cur = store.db.execute(
        f"SELECT * FROM audit_events {clause} ORDER BY id DESC LIMIT ? OFFSET ?", [*params, limit, offset]
    )
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


# ---------------------------------------------------------------- checkpoints
def chain_head(store: Store) -> dict:
    """The newest event's id and MAC and the number of events (a fresh trail: id 0, GENESIS, 0)."""
    # One statement, one snapshot: another writer may commit between two separate reads.
    row = store.db.execute("SELECT id, hash, (SELECT COUNT(*) FROM audit_events) FROM audit_events"
                           " ORDER BY id DESC LIMIT 1").fetchone()
    return {"event_id": row[0] if row else 0, "hash": row[1] if row else GENESIS, "count": row[2] if row else 0}


def make_checkpoint(store: Store, *, reason: str, **extra) -> dict:
    """A signed statement of the current chain head (not written anywhere)."""
    record = {"kind": "checkpoint", "ts": utcnow(), "reason": reason, **chain_head(store), **extra}
    record["mac"] = _checkpoint_mac(resolve_key(store), record)
    return record


def _append_line(path: Path, record: dict) -> None:
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def write_checkpoint(store: Store, *, reason: str, **extra) -> dict:
    """Sign the current chain head and append it to the checkpoint log beside the database."""
    record = make_checkpoint(store, reason=reason, **extra)
    path = checkpoint_log_for(store)
    if path is not None:
        _append_line(path, record)
    return record


def write_restore_record(store: Store, *, previous_head: dict | None, source: str) -> dict:
    """Sign and log that the trail was legitimately rewound to its current head by a restore."""
    record = {"kind": "restore", "ts": utcnow(), "reason": "restore", "source": source,
              "previous_head": previous_head, "restored_head": chain_head(store)}
    record["mac"] = _checkpoint_mac(resolve_key(store), record)
    path = checkpoint_log_for(store)
    if path is not None:
        _append_line(path, record)
    return record


def read_checkpoints(path: Path | str) -> list[dict]:
    """The records of a checkpoint log (a line that is not JSON is kept as a broken record, never skipped)."""
    out = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict):
                raise ValueError
        except ValueError:
            rec = {"kind": "broken", "line": n}
        out.append(rec)
    return out


# ---------------------------------------------------------------- verification
@dataclass
class ChainReport:
    ok: bool
    first_bad_id: int | None
    checked: int
    legacy: int = 0                      # events from before the audit key (plain SHA-256)
    checkpoints: int = 0                 # checkpoints compared with the database
    problems: list[str] = field(default_factory=list)


def _walk(store: Store, key: bytes) -> tuple[bool, int | None, int, int, dict[int, str], str | None]:
    """(ok, first bad id, checked, legacy count, {id: mac}, problem)."""
    prev = GENESIS
    checked = legacy = 0
    seen_keyed = False
    macs: dict[int, str] = {}
    cur = store.db.execute(
        "SELECT id, ts, user_id, username, action, entity, entity_id, details, prev_hash, hash, keyed"
        " FROM audit_events ORDER BY id"
    )
    for row in cur:
        eid, ts, uid, uname, action, entity, entity_id, details, prev_hash, digest, keyed = row
        checked += 1
        if prev_hash != prev:
            return False, eid, checked, legacy, macs, f"event {eid} does not follow the event before it"
        if keyed:
            seen_keyed = True
            expected = _mac(key, eid, prev, ts, uid, uname, action, entity, entity_id, details)
        else:
            if seen_keyed:
                return False, eid, checked, legacy, macs, f"event {eid} is unkeyed after keyed events"
            legacy += 1
            expected = _digest(prev, ts, uid, uname, action, entity, entity_id, details)
        if not hmac.compare_digest(expected, digest):
            return False, eid, checked, legacy, macs, f"event {eid} was changed (its MAC does not match)"
        macs[eid] = digest
        prev = digest
    return True, None, checked, legacy, macs, None


def verify_report(store: Store, checkpoint_files: tuple[Path | str, ...] = ()) -> ChainReport:
    """Check every event's MAC and link, then every checkpoint (the log beside the database and any exported
    copies given) against the events: a checkpointed head that is missing or different means the trail was
    cut, rolled back or rewritten."""
    key = resolve_key(store)
    ok, bad, checked, legacy, macs, problem = _walk(store, key)
    report = ChainReport(ok, bad, checked, legacy, problems=[problem] if problem else [])
    ids = list(macs)  # ascending
    files = [p for p in [checkpoint_log_for(store), *checkpoint_files] if p is not None]
    for path in files:
        records = read_checkpoints(path)
        # A restore done through core.security.backup legitimately rewinds the trail: checkpoints written
        # before the newest restore are held only up to the head the restore went back to.
        last_restore = max((i for i, r in enumerate(records) if r.get("kind") == "restore"), default=-1)
        for i, rec in enumerate(records):
            where = f"{Path(path).name} record {i + 1}"
            if rec.get("kind") == "broken":
                report.problems.append(f"{where} is not a checkpoint (edited?)")
                continue
            if not hmac.compare_digest(str(rec.get("mac", "")), _checkpoint_mac(key, rec)):
                report.problems.append(f"{where} has a bad signature (edited, or signed with another key)")
                continue
            report.checkpoints += 1
            if rec.get("kind") == "restore":
                head = rec.get("restored_head") or {}
                eid, digest = int(head.get("event_id", 0)), head.get("hash", GENESIS)
                if i == last_restore and eid and macs.get(eid) != digest:
                    report.problems.append(f"{where}: the restored trail's head (event {eid}) is missing or "
                                           "different")
                continue
            eid, digest, count = int(rec.get("event_id", 0)), rec.get("hash", GENESIS), rec.get("count")
            if i < last_restore:
                limit = int((records[last_restore].get("restored_head") or {}).get("event_id", 0))
                if eid > limit:
                    continue  # a head of the timeline the restore abandoned
            if eid == 0:
                continue
            if eid not in macs:
                if not ok and bad is not None and eid >= bad:
                    continue  # already reported as a broken chain
                report.problems.append(
                    f"{where}: event {eid} ({rec.get('ts', '')[:19]}) is missing: the trail was cut off or the "
                    "database rolled back to an older copy")
            elif macs[eid] != digest:
                report.problems.append(f"{where}: event {eid} differs from the checkpoint: the trail was rewritten")
            elif count is not None and bisect.bisect_right(ids, eid) != int(count):
                report.problems.append(f"{where}: the number of events up to {eid} differs from the checkpoint")
    head_path = head_file_for(store)
    if head_path is not None:
        _check_head(head_path, key, macs, ok, bad, report, expected=bool(files and any(
            Path(p).exists() for p in files[:1])))
    report.ok = report.ok and not report.problems
    return report


def _check_head(path: Path, key: bytes, macs: dict[int, str], ok: bool, bad: int | None, report: ChainReport,
                expected: bool) -> None:
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(rec, dict):
            raise ValueError
    except FileNotFoundError:
        if expected:
            report.problems.append(f"{path.name} is missing (deleted?) while the checkpoint log exists")
        return
    except (OSError, ValueError):
        report.problems.append(f"{path.name} is not a signed head (edited?)")
        return
    if not hmac.compare_digest(str(rec.get("mac", "")), _checkpoint_mac(key, rec)):
        report.problems.append(f"{path.name} has a bad signature (edited, or signed with another key)")
        return
    eid, digest = int(rec.get("event_id", 0)), rec.get("hash", GENESIS)
    report.checkpoints += 1
    if eid == 0 or (not ok and bad is not None and eid >= bad):
        return
    if eid not in macs:
        report.problems.append(f"the newest signed head, event {eid} ({str(rec.get('ts', ''))[:19]}), is missing: the "
                               "trail was cut off or the database rolled back to an older copy")
    elif macs[eid] != digest:
        report.problems.append(f"event {eid} differs from the newest signed head: the trail was rewritten")


def verify_chain(store: Store) -> tuple[bool, int | None, int]:
    """Return (ok, id of the first bad event or None, events checked); checkpoints beside the database count."""
    report = verify_report(store)
    return report.ok, report.first_bad_id, report.checked
