"""users, audit, backup and restore: the operator's security commands.

The command line acts as the ``console`` admin (whoever runs it can read the
database file anyway); every change it makes is in the audit trail.
"""

from __future__ import annotations

import contextlib
import sys

from core.security import accounts, auth
from core.security.audit import checkpoint, export_csv, verify
from core.security.auth import console_actor
from core.security.backup import backup, encrypt_database, restore
from core.storage import Store, migrate


def register(sub) -> None:
    p = sub.add_parser("users", help="accounts: create-admin, create, list, disable, enable, reset-password, unlock")
    usub = p.add_subparsers(dest="users_command", metavar="ACTION")
    usub.required = True
    a = usub.add_parser("create-admin", help="create an admin with a random password, printed once")
    a.add_argument("--username", default="admin")
    a.add_argument("--name", default="Administrator")
    a.set_defaults(func=users_create_admin)
    a = usub.add_parser("create", help="create an account (random password printed once unless --password-stdin)")
    a.add_argument("username")
    a.add_argument("--role", required=True, choices=["psychiatrist", "clinical_lead", "qa_reviewer", "admin"])
    a.add_argument("--name", default="")
    a.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    a.set_defaults(func=users_create)
    a = usub.add_parser("list", help="list accounts")
    a.set_defaults(func=users_list)
    for name, helptext in (("disable", "disable an account and end its sessions"), ("enable", "re-enable an account"),
                           ("unlock", "clear a lockout after failed logins")):
        a = usub.add_parser(name, help=helptext)
        a.add_argument("username")
        a.set_defaults(func=users_set, action=name)
    a = usub.add_parser("reset-password", help="new password (random, printed once, or --password-stdin)")
    a.add_argument("username")
    a.add_argument("--password-stdin", action="store_true")
    a.set_defaults(func=users_reset_password)

    p = sub.add_parser("audit", help="audit trail: verify the hash chain, export CSV")
    asub = p.add_subparsers(dest="audit_command", metavar="ACTION")
    asub.required = True
    a = asub.add_parser("verify", help="check the keyed chain and the signed checkpoints; exit 1 when any event "
                                       "was changed, removed or cut off, or the database rolled back")
    a.add_argument("--checkpoints", action="append", default=[], metavar="FILE",
                   help="also check a checkpoint log kept off the host (repeatable)")
    a.set_defaults(func=audit_verify)
    a = asub.add_parser("checkpoint", help="sign the chain head and print it (JSON), to keep off the host")
    a.add_argument("--out", default="-", help="append the checkpoint to this file instead of printing it")
    a.set_defaults(func=audit_checkpoint)
    a = asub.add_parser("export", help="write the audit trail as CSV")
    a.add_argument("out", help="CSV file to write ('-' for standard output)")
    a.add_argument("--action", default="")
    a.add_argument("--username", default="")
    a.set_defaults(func=audit_export)

    p = sub.add_parser("backup", help="snapshot the database (SQLite backup API), verified with integrity_check")
    p.add_argument("dest", help="backup file, or a folder to write a time-stamped file into")
    p.set_defaults(func=backup_cmd)
    p = sub.add_parser("restore", help="replace the database with a verified backup (refused while the app runs)")
    p.add_argument("src")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=restore_cmd)
    p = sub.add_parser("encrypt-db", help="encrypt the plain database in place with MHD_DB_KEY (stop the app first)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=encrypt_db_cmd)


@contextlib.contextmanager
def _store(settings):
    """The database, closed when the command is done: an open connection would keep a later restore in the same
    process from getting the file to itself. The key of these settings (which may come from --config), not only
    the environment's."""
    store = Store(settings.database, key=settings.database_key)
    try:
        migrate(store.db)
        yield store
    finally:
        store.close()


def _password(args) -> str | None:
    if not getattr(args, "password_stdin", False):
        return None
    return sys.stdin.readline().rstrip("\n")


def users_create_admin(args, settings) -> int:
    import secrets


    password = secrets.token_urlsafe(15)
    with _store(settings) as store:
        auth.create_user(store, args.username, password, "admin", args.name, actor=auth.console_actor())
    print(f"admin account {args.username!r} created. Password (shown once, change it after logging in):")
    print(f"  {password}")
    return 0


def users_create(args, settings) -> int:
    import secrets


    given = _password(args)
    password = given or secrets.token_urlsafe(15)
    with _store(settings) as store:
        user = auth.create_user(store, args.username, password, args.role, args.name, actor=auth.console_actor())
    print(f"account {user.username!r} ({user.role_label}) created.")
    if not given:
        print(f"  password (shown once): {password}")
    return 0


def users_list(args, settings) -> int:

    with _store(settings) as store:
        rows = accounts.list_users(store, auth.console_actor())
    print(f"{'username':<32} {'role':<15} {'status':<9} created")
    for r in rows:
        status = "disabled" if not r["active"] else ("locked" if r["locked"] else "active")
        print(f"{r['username']:<32} {r['role']:<15} {status:<9} {r['created_at'][:19]}")
    return 0


def users_set(args, settings) -> int:

    actor = auth.console_actor()
    with _store(settings) as store:
        row = accounts.find_user(store, args.username)
        if args.action == "unlock":
            accounts.unlock(store, row["id"], actor)
        else:
            accounts.set_active(store, row["id"], args.action == "enable", actor)
    print(f"{args.username}: {args.action}d")
    return 0


def users_reset_password(args, settings) -> int:

    given = _password(args)
    with _store(settings) as store:
        row = accounts.find_user(store, args.username)
        password = accounts.reset_password(store, row["id"], auth.console_actor(), given)
    print(f"{args.username}: password reset, account unlocked, sessions ended.")
    if not given:
        print(f"  new password (shown once): {password}")
    return 0


def audit_verify(args, settings) -> int:
    with _store(settings) as store:
        result = verify(store, console_actor(), tuple(args.checkpoints))
    if result.ok:
        legacy = f", {result.legacy} from before the audit key" if result.legacy else ""
        print(f"audit trail OK: {result.checked} events{legacy}, keyed chain intact, "
              f"{result.checkpoints} signed checkpoints match")
        return 0
    where = f"event {result.first_bad_id} does not match the chain; " if result.first_bad_id else ""
    print(f"AUDIT TRAIL TAMPERED: {where}{result.checked} events checked", file=sys.stderr)
    for problem in result.problems[:20]:
        print(f"  - {problem}", file=sys.stderr)
    return 1


def audit_checkpoint(args, settings) -> int:
    import json


    with _store(settings) as store:
        record = checkpoint(store, console_actor())
    line = json.dumps(record, sort_keys=True)
    if args.out == "-":
        print(line)
    else:
        import os

        fd = os.open(args.out, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
        print(f"checkpoint of event {record['event_id']} appended to {args.out}")
    return 0


def audit_export(args, settings) -> int:

    with _store(settings) as store:
        data = export_csv(store, console_actor(), action=args.action, username=args.username)
    if args.out == "-":
        sys.stdout.write(data)
    else:
        import os

        fd = os.open(args.out, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(data)
        print(f"audit trail written to {args.out}")
    return 0


def backup_cmd(args, settings) -> int:

    key = settings.database_key
    dest = backup(settings.database, args.dest, key=key, actor=console_actor())
    print(f"backup written to {dest} ({'encrypted, ' if key else ''}integrity_check ok)")
    return 0


def _confirm(yes: bool, what: str, question: str, word: str) -> int | None:
    """None to go ahead; else the exit code (2: no terminal to ask, 1: the person said no)."""
    if yes:
        return None
    if not sys.stdin.isatty():
        print(f"error: {what}; pass --yes to confirm", file=sys.stderr)
        return 2
    if input(f"{question} Type '{word}' to confirm: ").strip() != word:
        print("cancelled")
        return 1
    return None


def restore_cmd(args, settings) -> int:
    refused = _confirm(args.yes, "restore replaces the database",
                       f"Replace {settings.database} with {args.src}?", "restore")
    if refused is not None:
        return refused

    restore(args.src, settings.database, key=settings.database_key, actor=console_actor())
    print(f"{settings.database} restored from {args.src} (integrity_check ok)")
    return 0


def encrypt_db_cmd(args, settings) -> int:
    if not settings.database_key:
        print("error: set MHD_DB_KEY (or db_key_file) to the new passphrase first", file=sys.stderr)
        return 2
    refused = _confirm(args.yes, "encrypt-db rewrites the database",
                       f"Encrypt {settings.database} in place? Stop the app first.", "encrypt")
    if refused is not None:
        return refused
    encrypt_database(settings.database, key=settings.database_key)
    print(f"{settings.database} is now encrypted (integrity_check ok). Keep the passphrase safe: "
          "without it the data cannot be read. Older plain backups are still plain.")
    return 0
