"""A clinician's writes in a loop, for the kill and restore tests: ``python -m tests.attack._writer DB PID``.

Prints ``ready`` once, then the id of every visit whose add_visit call has returned (acknowledged), one a line,
flushed, until killed or until ``--count`` visits are written.
"""

from __future__ import annotations

import sys


def main() -> None:
    from core.clinical import patients
    from core.context import Context
    from core.security.auth import User
    from core.settings import load_settings
    from core.storage import Store
    from core.storage.accounts import get_user_by_name

    db, pid = sys.argv[1], int(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 10**9
    settings = load_settings(env={}, db_path=db)
    store = Store(db, key="")
    row = get_user_by_name(store, "psy")
    ctx = Context(settings=settings, store=store, user=User(row["id"], "psy", "psy", "psychiatrist"))
    print("ready", flush=True)
    for i in range(count):
        vid = patients.add_visit(ctx, pid, "2026-01-02", f"note {i}: low mood, poor sleep")
        print(vid, flush=True)


if __name__ == "__main__":
    main()
