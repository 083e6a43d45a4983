"""Canary routing of heads versions.

``<heads_dir>/CANARY.json`` names a candidate heads version and
its share (default 10%). Routing is by text hash: the same text always goes
to the same version (repeatable outputs, cache friendly), and about ``share``
of distinct texts go to the candidate. Every output records its version.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from datetime import UTC, datetime
from pathlib import Path

from core.errors import NotFound, ValidationError
from core.models import registry as model_registry
from core.models.registry import CANARY_FILE, DEFAULT_CANARY_SHARE, Canary, read_canary


def set_canary(heads_dir: Path, version: str, share: float = DEFAULT_CANARY_SHARE) -> Canary:
    """Send ``share`` of texts to heads ``version``; it must exist and differ from the one LATEST names."""

    if not (0.0 < float(share) <= 1.0) or math.isnan(float(share)):
        raise ValidationError("The canary share must be above 0 and at most 1 (e.g. 0.1 for 10%)")
    version = model_registry.resolve_version(heads_dir, version)
    if version == model_registry.latest(heads_dir):
        raise ValidationError(f"{version} is already the serving version (LATEST); pick a candidate")
    canary = Canary(version, float(share), datetime.now(UTC).isoformat(timespec="seconds"))
    path = Path(heads_dir) / CANARY_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(canary.__dict__) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return canary


def clear_canary(heads_dir: Path) -> Canary | None:
    """Stop the canary (the roll-back of a candidate); returns the one that was set."""
    previous = read_canary(heads_dir)
    with contextlib.suppress(FileNotFoundError):
        (Path(heads_dir) / CANARY_FILE).unlink()
    return previous


def promote_canary(heads_dir: Path, *, force: bool = False) -> str:
    """Make the candidate the serving version (LATEST, through the registry's gate) and end the canary."""
    canary = read_canary(heads_dir)
    if canary is None:
        raise NotFound("No canary is set; set one with `python -m core canary set VERSION`")
    model_registry.promote(heads_dir, canary.version, force=force, reason=f"canary promoted ({canary.share:g})")
    clear_canary(heads_dir)
    return canary.version


def route(stable: str, canary: Canary | None, key: str) -> str:
    """The version that serves ``key`` (a text hash): the candidate for about ``share`` of keys."""
    if canary is None or canary.version == stable:
        return stable
    bucket = int(key[:8], 16) / 0x1_0000_0000
    return canary.version if bucket < canary.share else stable


