"""``python -m core``: one CLI over the library.

Each area registers its subcommands in ``core/commands/<area>.py`` through a
``register(subparsers)`` function; handlers take (args, settings) and return an
exit code. Library errors become a one-line message and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from core.errors import CoreError
from core.safety.deid import install_log_redaction
from core.settings import load_settings

COMMAND_MODULES = ["base", "heads", "llm", "parser", "security", "review", "api", "indicators", "crisis"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core",
        description="Interpretable mental-health text analysis: database, models, evaluation and serving.",
    )
    parser.add_argument("--config", help="TOML settings file (default: $MHD_CONFIG or ./mhdash.toml)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"core.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"core.commands.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:

    install_log_redaction()  # no PHI in logs from any command (imports, scoring, `serve`), tracebacks included
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(config_file=args.config)
        return int(args.func(args, settings) or 0)
    except CoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
