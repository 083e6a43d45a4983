"""Storage: the only place in the product that speaks SQL."""

from core.storage.db import Store, connect, transaction, utcnow
from core.storage.migrations import migrate, schema_version

__all__ = ["Store", "connect", "transaction", "utcnow", "migrate", "schema_version", "open_store"]


def open_store(path) -> Store:
    """Open the database at ``path`` and bring its schema up to date."""
    store = Store(path)
    migrate(store.db)
    return store
