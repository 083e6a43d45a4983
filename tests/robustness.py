"""A small recorder of the robustness cases the tests really run.

Tests wrap each hostile input in ``with robustness.case("upload"):``. A library
error (``CoreError``) is the expected, handled outcome; any other exception is
counted as a crash and re-raised so the test fails too. Durability tests report
rows they found missing with ``rows_lost``. ``pytest_terminal_summary`` in
conftest prints ``summary()`` as the suite's last line.
"""

from __future__ import annotations

import contextlib
from collections import Counter

_tried: Counter = Counter()
_crashes: Counter = Counter()
_lost = 0


@contextlib.contextmanager
def case(kind: str, *, expected: tuple[type[BaseException], ...] = ()):
    """One bad input of ``kind``: CoreError (and ``expected``) are handled outcomes, anything else a crash."""
    from core.errors import CoreError

    _tried[kind] += 1
    try:
        yield
    except (CoreError, *expected):
        pass
    except BaseException:
        _crashes[kind] += 1
        raise


def tried(kind: str, n: int = 1) -> None:
    """Count ``n`` bad inputs that were checked some other way (e.g. inside a subprocess)."""
    _tried[kind] += n


def crashed(kind: str, n: int = 1) -> None:
    _crashes[kind] += n


def rows_lost(n: int) -> None:
    global _lost
    _lost += int(n)


def totals() -> tuple[int, int, int]:
    return sum(_tried.values()), sum(_crashes.values()), _lost


def export() -> dict:
    """This process's counts, for the xdist controller to merge (tests/conftest.py)."""
    return {"tried": dict(_tried), "crashes": dict(_crashes), "lost": _lost}


def merge(data: dict) -> None:
    """Add a worker's counts (``export``) to this process's."""
    global _lost
    _tried.update(data.get("tried", {}))
    _crashes.update(data.get("crashes", {}))
    _lost += int(data.get("lost", 0))


def summary() -> str:
    n, crashes, lost = totals()
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(_tried.items()))
    line = f"robustness: {n} bad inputs tried, {crashes} crashes, {lost} rows lost"
    return line + (f" ({kinds})" if kinds else "")
