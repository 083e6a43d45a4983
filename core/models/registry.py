"""Versions of the trained heads: ``v{YYYYMMDD_HHMMSS}/`` folders and a ``LATEST`` pointer.

The pointer is a one-line text file, not a symlink, so it survives git and any
OS. Every move of the pointer is appended to ``history.jsonl`` (when, from,
to, why). No torch here: the Models page and the CLI read it cheaply.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.errors import ConfigError, NotFound, NoTrainedHeads

LATEST_FILE = "LATEST"
HISTORY_FILE = "history.jsonl"
VERSION_RE = re.compile(r"^v\d{8}_\d{6}(_\d+)?$")


def new_version_name(heads_dir: Path, now: datetime | None = None) -> str:
    """v{YYYYMMDD_HHMMSS} in UTC; a suffix keeps two runs in the same second apart."""
    stamp = f"v{(now or datetime.now(UTC)):%Y%m%d_%H%M%S}"
    name, n = stamp, 1
    while (Path(heads_dir) / name).exists() or (Path(heads_dir) / f".tmp-{name}").exists():
        n += 1
        name = f"{stamp}_{n}"
    return name


def list_versions(heads_dir: Path) -> list[str]:
    """Complete versions (a config.json was written last), oldest first."""
    heads_dir = Path(heads_dir)
    if not heads_dir.is_dir():
        return []
    return sorted(p.name for p in heads_dir.iterdir()
                  if p.is_dir() and VERSION_RE.match(p.name) and (p / "config.json").exists())


def latest(heads_dir: Path) -> str | None:
    path = Path(heads_dir) / LATEST_FILE
    try:
        name = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return name or None


def resolve_version(heads_dir: Path, version: str = "latest") -> str:
    """The folder name to load; NoTrainedHeads (with the fix) when there is none."""
    heads_dir = Path(heads_dir)
    versions = list_versions(heads_dir)
    if version in ("latest", "", None):
        name = latest(heads_dir)
        if name is None:
            raise NoTrainedHeads(
                f"No trained heads in {heads_dir} (no {LATEST_FILE} pointer"
                + (f"; versions present but none promoted: {', '.join(versions)}" if versions else "")
                + "). Train them with `python -m core train` or promote a version with `python -m core models promote`.")
        if name not in versions:
            raise NoTrainedHeads(f"{heads_dir / LATEST_FILE} points at {name!r}, which is not a complete version "
                                 f"in {heads_dir}; run `python -m core models rollback VERSION`")
        return name
    if version not in versions:
        raise NoTrainedHeads(f"Heads version {version!r} not found in {heads_dir}; versions: "
                             f"{', '.join(versions) or 'none'}")
    return version


def _write_pointer(heads_dir: Path, version: str, action: str, reason: str = "") -> None:
    heads_dir = Path(heads_dir)
    previous = latest(heads_dir)
    tmp = heads_dir / f".{LATEST_FILE}.tmp"
    tmp.write_text(version + "\n", encoding="utf-8")
    os.replace(tmp, heads_dir / LATEST_FILE)  # atomic: a reader sees the old or the new pointer
    entry = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "action": action,
             "from": previous, "to": version, "reason": reason}
    with open(heads_dir / HISTORY_FILE, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry) + "\n")


def read_metrics(heads_dir: Path, version: str) -> dict:
    try:
        return json.loads((Path(heads_dir) / version / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def describe(heads_dir: Path) -> list[dict]:
    """One row per version for `models list`: gate result, losses, data, and which one is latest."""
    current = latest(heads_dir)
    rows = []
    for v in list_versions(heads_dir):
        m = read_metrics(heads_dir, v)
        gate = m.get("gate") or {}
        rows.append({"version": v, "latest": v == current, "gate_passed": gate.get("passed"),
                     "best_val_loss": m.get("best_val_loss"), "test_loss": (m.get("test") or {}).get("loss"),
                     "data": (m.get("data") or {}).get("source"), "epochs": len(m.get("history") or [])})
    return rows


def promote(heads_dir: Path, version: str, *, force: bool = False, reason: str = "promote") -> None:
    """Point LATEST at a version; refuses one that failed its validation gate unless forced."""
    version = resolve_version(heads_dir, version)
    gate = read_metrics(heads_dir, version).get("gate") or {}
    if gate.get("passed") is False and not force:
        raise ConfigError(f"{version} failed its validation gate ({gate.get('reason')}); use --force to promote anyway")
    _write_pointer(heads_dir, version, "promote", reason)


def rollback(heads_dir: Path, version: str) -> None:
    """Point LATEST back at an earlier version (no gate check: it served before)."""
    version = resolve_version(heads_dir, version)
    _write_pointer(heads_dir, version, "rollback", f"rollback to {version}")


def version_time(name: str) -> datetime:
    return datetime.strptime(name[1:16], "%Y%m%d_%H%M%S").replace(tzinfo=UTC)


# The canary's state lives beside LATEST because both say which versions are live; routing and promotion are
# in core.serving.canary.
DEFAULT_CANARY_SHARE = 0.10
CANARY_FILE = "CANARY.json"


@dataclass(frozen=True)
class Canary:
    version: str
    share: float = DEFAULT_CANARY_SHARE
    set_at: str = ""


def read_canary(heads_dir: Path) -> Canary | None:
    path = Path(heads_dir) / CANARY_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Canary(str(data["version"]), float(data["share"]), str(data.get("set_at", "")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} is unreadable ({exc}); fix it or run `python -m core canary clear`") from exc


def prune(heads_dir: Path, keep_days: int, *, now: datetime | None = None, dry_run: bool = False,
          referenced: Iterable[str] = (), include_referenced: bool = False) -> tuple[list[str], dict[str, str]]:
    """Delete versions older than keep_days. Returns (deleted names, {spared old version: why}).

    Never deleted: the version LATEST points at, the canary's candidate (its requests would fail), and versions
    that stored results name (``referenced``: the output would lose the model behind it) unless
    ``include_referenced`` says so.
    """
    if keep_days < 0:
        raise ConfigError("--keep-days must be >= 0")
    cutoff = (now or datetime.now(UTC)) - timedelta(days=keep_days)
    spare = {latest(heads_dir): "LATEST points at it"}
    canary = read_canary(heads_dir)
    if canary is not None:
        spare.setdefault(canary.version, "the canary routes requests to it")
    if not include_referenced:
        for v in referenced:
            spare.setdefault(v, "stored results name it (--include-referenced to delete anyway)")
    old = [v for v in list_versions(heads_dir) if version_time(v) < cutoff]
    gone = [v for v in old if v not in spare]
    kept = {v: spare[v] for v in old if v in spare}
    if not dry_run:
        for v in gone:
            shutil.rmtree(Path(heads_dir) / v)
    # Half-written folders of crashed runs (".tmp-v...") older than a day are litter too.
    for p in Path(heads_dir).glob(".tmp-v*") if Path(heads_dir).is_dir() else []:
        if time.time() - p.stat().st_mtime > 86400 and not dry_run:
            shutil.rmtree(p, ignore_errors=True)
    return gone, kept


def version_dir(heads_dir: Path, version: str) -> Path:
    path = Path(heads_dir) / version
    if not path.is_dir():
        raise NotFound(f"No heads version {version} in {heads_dir}")
    return path
