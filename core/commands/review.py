"""``python -m core review``: export review results and corrections, print agreement between reviewers."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from core.context import Context
from core.errors import ValidationError
from core.security.auth import User
from core.storage import accounts as account_rows
from core.storage import open_store


def register(sub) -> None:
    p = sub.add_parser("review", help="QA review: export flags and correction sets, reviewer agreement")
    rsub = p.add_subparsers(dest="review_command", metavar="ACTION")
    rsub.required = True
    e = rsub.add_parser(
        "export", help="flags as CSV/JSONL, or corrections as training sets for the heads and LoRA trainers",
        description="csv/jsonl (QA reviewers): flags with reason, severity, comment and corrections (no note "
                    "text; free text de-identified). heads: training CSV/JSONL for `python -m core train --data`. "
                    "lora: IMHI CSV (query,gpt-3.5-turbo) or JSONL {query, answer} for `python -m core train-lora "
                    "--data`. Training sets contain the real visit text, so only a clinical lead may make them "
                    "(e.g. --user lead.demo). Every export is recorded in the audit trail.",
    )
    e.add_argument("--format", required=True, choices=["csv", "jsonl", "heads", "lora"])
    e.add_argument("--output", required=True, help="file to write ('-' for standard output); a .jsonl name "
                   "writes JSON lines for heads/lora")
    e.add_argument("--user", default=os.environ.get("MHD_USER", ""),
                   help="account the export is made and audited under: a QA reviewer for csv/jsonl, a clinical lead "
                        "for heads/lora (default: $MHD_USER)")
    e.add_argument("--include-approved", action="store_true",
                   help="heads/lora: also export approved outputs as confirmed labels")
    e.add_argument("--all-decisions", action="store_true", help="csv/jsonl: approvals and skips too, not only flags")
    e.add_argument("--demo", action="store_true", help="export from the demo database")
    e.set_defaults(func=export_cmd)
    a = rsub.add_parser("agreement", help="agreement between reviewers per task and flag reason")
    a.add_argument("--user", default=os.environ.get("MHD_USER", ""), help="account (needs quality.read)")
    a.add_argument("--demo", action="store_true")
    a.set_defaults(func=agreement_cmd)


def _context(args, settings):

    if not args.user:
        raise ValidationError("Name the account to act as with --user (or set MHD_USER).")
    store = open_store(settings.demo_database if args.demo else settings.database, key=settings.database_key)
    row = account_rows.get_user_by_name(store, args.user)
    if row is None or not row["active"]:
        raise ValidationError(f"No active account named {args.user!r}.")
    user = User(row["id"], row["username"], row["display_name"], row["role"])
    return Context(settings=settings, store=store, user=user, demo=args.demo)


def export_cmd(args, settings) -> int:
    from core import review

    ctx = _context(args, settings)
    ctx.audit("cli.invoke", "review", "export", os_user=getpass.getuser(), output=args.output)
    jsonl = args.format in ("heads", "lora") and str(args.output).endswith(".jsonl")
    decisions = review.DECISIONS if args.all_decisions else ("flag",)
    result = review.export(ctx, args.format, jsonl=jsonl, include_approved=args.include_approved,
                           decisions=decisions)
    if args.output == "-":
        sys.stdout.write(result.data.decode("utf-8"))
    else:
        out = Path(args.output)
        fd = os.open(out, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)  # may hold note text: private file
        with os.fdopen(fd, "wb") as fh:
            fh.write(result.data)
        print(f"{result.rows} rows written to {out}", file=sys.stderr)
    for why, n in result.skipped.items():
        print(f"left out {n}: {why}", file=sys.stderr)
    return 0


def agreement_cmd(args, settings) -> int:
    from core import review

    rows = review.agreement_report(_context(args, settings))
    if not rows:
        print("no items reviewed by two or more reviewers yet")
    for r in rows:
        value = "n/a" if r["value"] is None else f"{r['value']:.3f}"
        print(f"{r['scope']:<10} {r['name']:<40} {r['method']:<18} {value:>6}  items={r['items']} "
              f"reviewers={r['reviewers']}")
    return 0
