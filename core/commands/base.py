"""init-db and seed-demo."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from core.backends import load_encoder
from core.clinical import demo
from core.errors import ModelUnavailable
from core.security import auth
from core.storage import Store, migrate, open_store
from core.storage import accounts as account_rows


def register(sub) -> None:
    p = sub.add_parser("init-db", help="create or migrate the database; create first-run accounts")
    p.add_argument("--no-accounts", action="store_true", help="do not create the first-run accounts")
    p.set_defaults(func=init_db)
    p = sub.add_parser("seed-demo", help="write the synthetic demo cohort into the demo database")
    p.add_argument("--if-empty", action="store_true", help="only when the demo database has no patients")
    p.add_argument("--reset", action="store_true", help="wipe the demo database first")
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=seed_demo)


FIRST_RUN_ACCOUNTS = [
    ("admin", "admin", "Administrator"),
    ("dr.demo", "psychiatrist", "Dr Demo (psychiatrist)"),
    ("lead.demo", "clinical_lead", "Clinical lead"),
    ("qa.demo", "qa_reviewer", "QA reviewer"),
]


def init_db(args, settings) -> int:

    store = Store(settings.database, key=settings.database_key)
    applied = migrate(store.db)
    # The runtime folder holds PHI (database, backups, caches): private, even when a cache created it first.
    for folder in {Path(settings.data_dir), settings.database.parent}:
        if folder.is_dir() and folder.stat().st_uid == os.getuid():
            os.chmod(folder, 0o700)
    print(f"database: {settings.database} (migrations applied now: {applied or 'none'})")
    if args.no_accounts or account_rows.count_users(store) > 0:
        return 0
    lines = []
    admin = None
    for username, role, name in FIRST_RUN_ACCOUNTS:
        password = secrets.token_urlsafe(12)
        # The console creates them; each person must choose their own password at first login.
        user = auth.create_user(store, username, password, role, name, actor=auth.console_actor() if admin else None)
        admin = admin or user
        lines.append(f"  {username:<10} {role:<14} {password}")
    creds = settings.database.parent / "first-run-credentials.txt"
    fd = os.open(creds, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("username   role           password\n" + "\n".join(lines) + "\n")
    print("First run: accounts created (passwords shown once; also in", creds, "- delete it after logging in):")
    print("\n".join(lines))
    return 0


def seed_demo(args, settings) -> int:

    store = open_store(settings.demo_database, key=settings.database_key)
    try:
        if args.reset:
            n = demo.reset_demo(store, seed=args.seed)
        elif args.if_empty and not demo.is_empty(store):
            print(f"demo database {settings.demo_database} already seeded")
            _score_demo(store, settings)
            return 0
        else:
            n = demo.seed_demo(store, seed=args.seed)
        print(f"demo database {settings.demo_database}: {n} synthetic patients added")
        _score_demo(store, settings)  # before closing: a closed store would quietly open a connection again
        return 0
    finally:
        store.close()


def _score_demo(store, settings) -> None:
    """Pre-compute the head scores of the demo cohort when trained heads are installed."""
    from tqdm import tqdm


    try:
        encoder = load_encoder(settings)
    except ModelUnavailable as exc:
        print(f"demo cohort not pre-scored: {exc}")
        return
    bar = tqdm(desc="scoring demo visits", unit="visit")

    def progress(done, total):
        bar.total = total
        bar.n = done
        bar.refresh()

    n = demo.score_demo(store, encoder, progress=progress)
    bar.close()
    print(f"demo cohort: {n} visits scored with heads {encoder.version}")
