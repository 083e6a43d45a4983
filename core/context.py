"""Who is asking, against which database: passed to every service function."""

from __future__ import annotations

from dataclasses import dataclass

from core.security.auth import User, require
from core.settings import Settings
from core.storage import Store
from core.storage.audit import append_event


@dataclass
class Context:
    settings: Settings
    store: Store          # the data being worked on: the clinical database or the demo one
    user: User | None
    demo: bool = False

    def require(self, permission: str) -> User:
        return require(self.user, permission)

    def audit(self, action: str, entity: str = "", entity_id="", **details) -> int:
        """Record an event in the audit trail of the database being worked on."""
        user = self.user
        return append_event(
            self.store,
            user_id=user.id if user else None,
            username=user.username if user else "system",
            action=action,
            entity=entity,
            entity_id=entity_id,
            details=details,
        )
