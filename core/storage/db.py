"""Opening the database and applying the recorded, versioned migrations.

Every connection runs in WAL mode with a busy timeout, so readers never block
the writer and concurrent writers wait instead of failing. The file is created
with mode 0600 because it holds protected health information.

Encryption at rest: when a database key is configured (``settings.db_key``,
``MHD_DB_KEY``, or ``db_key_file``), every connection is opened through
SQLCipher (``sqlcipher3``) and keyed before anything else runs. The passphrase
never goes into SQL text: it is stretched in Python exactly as SQLCipher 4 does
by default (PBKDF2-HMAC-SHA512, 256,000 iterations, the file's own 16-byte salt)
and given as a raw hex key, ``PRAGMA key = "x'...'"``. So the stock ``sqlcipher``
shell opens the file with ``PRAGMA key = '<passphrase>'``, and the slow key
stretching runs once per file and process instead of once per connection.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from core.errors import ConfigError, DatabaseKeyError, StorageError
from core.settings import check_db_key, load_settings

try:
    from sqlcipher3 import dbapi2 as _sqlcipher
except ImportError:  # plain SQLite still works without the wheel
    _sqlcipher = None

BUSY_TIMEOUT_MS = 30_000

# sqlcipher3 raises its own exception classes (not subclasses of sqlite3's): catch both.
DB_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error,) if _sqlcipher is None else (sqlite3.Error, _sqlcipher.Error)

PLAIN_HEADER = b"SQLite format 3\x00"
# SQLCipher 4 defaults (pinned on every connection with cipher_compatibility = 4).
KDF_ITERATIONS = 256_000
WRONG_KEY = "cannot decrypt the database: wrong key or not an encrypted database"


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")

def query_rows(store, sql: str, params=()) -> list[dict]:
    """The rows of a parameter-bound query, as dicts."""
    cur = store.db.execute(sql, list(params))
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def query_one(store, sql: str, params=()) -> dict | None:
    """The first row of a parameter-bound query, or None."""
    rows = query_rows(store, sql, params)
    return rows[0] if rows else None



def _create_private_file(path: Path) -> None:
    if not path.parent.exists():
        # Only a folder we create ourselves is made private; never touch an existing one (e.g. /tmp).
        with contextlib.suppress(FileExistsError):
            path.parent.mkdir(parents=True)
            os.chmod(path.parent, 0o700)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    # Strip group/other access; never add write access to a file someone made read-only on purpose.
    os.chmod(path, os.stat(path).st_mode & 0o600)


def export_encrypted_copy(src: Path | str, dest: Path | str, hex_key: str) -> None:
    """Copy the plain database ``src`` into a new SQLCipher file ``dest`` keyed with ``hex_key`` (raw, salted):
    schema and data by ``sqlcipher_export``, plus ``user_version`` and ``application_id``, which it leaves out."""
    conn = _sqlcipher.connect(str(src), isolation_level=None, timeout=30)
    try:
        conn.execute("ATTACH DATABASE ? AS encrypted KEY ?", (str(dest), hex_key))
        conn.execute("SELECT sqlcipher_export('encrypted')")
        for pragma in ("user_version", "application_id"):
            value = int(conn.execute(f"PRAGMA main.{pragma}").fetchone()[0])
            conn.execute(f"PRAGMA encrypted.{pragma} = {value}")
        conn.execute("DETACH DATABASE encrypted")
    finally:
        conn.close()


def configured_key() -> str:
    """The database key of the configured settings (MHD_DB_KEY, db_key_file, mhdash.toml); "" = plain SQLite."""

    return load_settings().database_key


def file_header(path: Path | str) -> bytes:
    """The first 16 bytes of a file: SQLite's magic for a plain database, SQLCipher's salt for an encrypted one."""
    try:
        with open(path, "rb") as fh:
            return fh.read(16)
    except OSError:
        return b""


@functools.lru_cache(maxsize=32)
def _derive(passphrase: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha512", passphrase.encode("utf-8", "surrogateescape"), salt, KDF_ITERATIONS, 32)


def raw_key(passphrase: str, salt: bytes, *, with_salt: bool = False) -> str:
    """SQLCipher's raw key literal ``x'<key hex>[<salt hex>]'`` for ``passphrase`` on a file salted with ``salt``.

    Only hex digits: safe to put in a PRAGMA. ``with_salt`` makes SQLCipher write ``salt`` into a new file.
    """
    return f"x'{_derive(passphrase, salt).hex()}{salt.hex() if with_salt else ''}'"


def open_connection(path: Path | str, *, readonly: bool = False, key: str | None = None):
    """A raw DB-API connection to the database file at ``path``, keyed when a key is set.

    ``key`` None means the configured key; "" means plain SQLite. Raises ``DatabaseKeyError`` when the file
    cannot be decrypted with the key (wrong key, a plain file with a key, an encrypted file without one),
    ``StorageError`` when it cannot be opened at all.
    """
    key = configured_key() if key is None else key
    path = Path(path)
    target = f"file:{path}?mode=ro" if readonly else str(path)
    options = dict(uri=readonly, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False, isolation_level=None)
    if not key:
        header = file_header(path)
        if len(header) == 16 and header != PLAIN_HEADER:
            raise DatabaseKeyError(
                f"Cannot open the database at {path}: it is encrypted (set MHD_DB_KEY) or it is not a database."
            )
        try:
            return sqlite3.connect(target, **options)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"Cannot open the database at {path}: {exc}") from exc
    if _sqlcipher is None:
        raise ConfigError("A database key is set but SQLCipher is missing: pip install sqlcipher3-wheels")
    check_db_key(key)
    for attempt in (1, 2):
        header = file_header(path)
        if header == PLAIN_HEADER:
            raise DatabaseKeyError(
                f"{WRONG_KEY}: {path} is a plain SQLite database. Encrypt it with `python -m core encrypt-db`, "
                "or unset MHD_DB_KEY."
            )
        fresh = len(header) < 16  # a new (empty) file: we choose its salt
        salt = os.urandom(16) if fresh else header
        try:
            conn = _sqlcipher.connect(target, **options)
        except (OSError, *DB_ERRORS) as exc:
            raise StorageError(f"Cannot open the database at {path}: {exc}") from exc
        try:
            conn.execute("PRAGMA cipher_log_level = NONE")  # our errors say it; no SQLCipher noise on stderr
            conn.execute(f'PRAGMA key = "{raw_key(key, salt, with_salt=fresh)}"')
            conn.execute("PRAGMA cipher_compatibility = 4")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except DB_ERRORS as exc:
            conn.close()
            if fresh and attempt == 1 and len(file_header(path)) == 16:
                continue  # another connection created the file meanwhile, with its own salt: read it
            if "not a database" in str(exc):
                raise DatabaseKeyError(f"{WRONG_KEY} ({path})") from exc
            raise StorageError(f"Cannot open the database at {path}: {exc}") from exc
    raise AssertionError("unreachable")


def connect(path: Path | str, *, readonly: bool = False, key: str | None = None) -> sqlite_utils.Database:
    """Open (creating with mode 0600) a database with WAL and a busy timeout.

    ``key`` None means the configured key (encrypted with SQLCipher when set); "" forces plain SQLite.
    """
    if str(path) == ":memory:":
        conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    else:
        path = Path(path)
        key = configured_key() if key is None else key
        if key:
            check_db_key(key)  # before a file is created for nothing
        if not readonly:
            try:
                _create_private_file(path)
            except OSError as exc:
                raise StorageError(f"Cannot open the database at {path}: {exc}") from exc
        conn = open_connection(path, readonly=readonly, key=key)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not readonly and str(path) != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
    except DB_ERRORS as exc:
        conn.close()
        raise StorageError(f"Cannot configure the database at {path}: {exc}") from exc
    return sqlite_utils.Database(conn)


@contextlib.contextmanager
def transaction(db: sqlite_utils.Database, *, durable: bool = False):
    """One atomic write: BEGIN IMMEDIATE .. COMMIT, rolled back on any error.

    ``durable`` switches to synchronous=FULL for the commit (sign-offs), so a
    power cut after return cannot lose the write.
    """
    conn = db.conn
    if conn.in_transaction:
        # Nested use joins the outer transaction: one commit for the whole unit of work.
        yield db
        return
    try:
        if durable:
            conn.execute("PRAGMA synchronous = FULL")
        conn.execute("BEGIN IMMEDIATE")
    except DB_ERRORS as exc:
        raise StorageError(_explain(exc)) from exc
    try:
        yield db
        conn.execute("COMMIT")
    except DB_ERRORS as exc:
        with contextlib.suppress(*DB_ERRORS):
            conn.execute("ROLLBACK")
        raise StorageError(_explain(exc)) from exc
    except BaseException:
        with contextlib.suppress(*DB_ERRORS):
            conn.execute("ROLLBACK")
        raise
    finally:
        if durable:
            with contextlib.suppress(*DB_ERRORS):
                conn.execute("PRAGMA synchronous = NORMAL")


def _explain(exc: Exception) -> str:
    text = str(exc)
    if "readonly" in text or "read-only" in text:
        return "The database is read-only; nothing was saved. Check the file permissions."
    if "full" in text:
        return "The disk is full; nothing was saved. Free some space and try again."
    if "locked" in text or "busy" in text:
        return "The database is busy; nothing was saved. Try again in a moment."
    return f"Database error; nothing was saved ({text})."


class Store:
    """A database path plus one connection per thread (Streamlit runs sessions in threads)."""

    def __init__(self, path: Path | str, *, key: str | None = None, audit_key: str | bytes | None = None):
        """``key`` None means the configured key, resolved once so every thread's connection uses the same.
        ``audit_key`` None means the configured audit key, else the key file beside the database."""
        self.path = path
        self.audit_key = audit_key
        self._local = threading.local()
        if str(path) == ":memory:":
            self._key = ""
            self._shared = connect(path)
        else:
            self._key = configured_key() if key is None else key
            self._shared = None

    @property
    def db(self) -> sqlite_utils.Database:
        if self._shared is not None:
            return self._shared
        db = getattr(self._local, "db", None)
        if db is None:
            db = connect(self.path, key=self._key)
            self._local.db = db
        return db

    @contextlib.contextmanager
    def tx(self, *, durable: bool = False):
        """One atomic write (nested use joins the outer one). Callables registered with ``after_commit`` during
        the outermost transaction run once it has committed, and are dropped when it rolls back."""
        outer = not self.db.conn.in_transaction
        try:
            with transaction(self.db, durable=durable) as db:
                yield db
        except BaseException:
            if outer:
                self._local.after_commit = None
            raise
        if outer:
            hooks = getattr(self._local, "after_commit", None)
            self._local.after_commit = None
            for hook in hooks or ():
                hook()

    def after_commit(self, hook) -> None:
        """Run ``hook()`` once the current outermost transaction commits (at most once per transaction)."""
        hooks = getattr(self._local, "after_commit", None)
        if hooks is None:
            hooks = self._local.after_commit = []
        if hook not in hooks:
            hooks.append(hook)

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.conn.close()
            self._local.db = None
