"""The attack suite: each test plays one attack measured on this machine and records its figure.

Run the group with ``pytest tests/attack -q``; the figures are printed at the end of the run (the line in
bench/RESULTS.md comes from such a run) and written to ``var/attack-figures.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

FIGURES: dict[str, str] = {}
ROOT = Path(__file__).resolve().parents[2]


def record(name: str, value) -> None:
    """Keep one measured figure for the summary."""
    FIGURES[name] = str(value)


def write_summary(terminalreporter) -> None:
    """The figures line and ``var/attack-figures.json`` (called by the suite's terminal summary in
    tests/conftest.py, which also runs in the pytest-xdist controller, where this conftest is not loaded)."""
    if not FIGURES:
        return
    terminalreporter.write_line("attack figures: " + "; ".join(f"{k}: {v}" for k, v in FIGURES.items()))
    out = ROOT / "var" / "attack-figures.json"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        previous = json.loads(out.read_text()) if out.exists() else {}
        out.write_text(json.dumps({**previous, **FIGURES}, indent=1))
    except (OSError, ValueError):
        pass
