"""Storage: the only place in the product that speaks SQL."""

from core.storage.db import Store, connect, transaction, utcnow
from core.storage.migrations import migrate, schema_version

__all__ = ["Store", "connect", "transaction", "utcnow", "migrate", "schema_version", "open_store"]


def open_store(path, *, key: str | None = None, audit_key: str | None = None) -> Store:
    """Open the database at ``path`` (decrypting with ``key``; None = the configured key) and migrate it."""
    store = Store(path, key=key, audit_key=audit_key)
    migrate(store.db)
    return store
