"""Spreadsheet-safe CSV cells: a cell that starts like a formula is neutralised before it leaves the product."""

from __future__ import annotations

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """Neutralise spreadsheet formulas (=, +, -, @, tab, CR at the start of a cell) with a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in FORMULA_PREFIXES else text
