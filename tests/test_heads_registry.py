"""Heads versions: the LATEST pointer, promote, rollback, prune; the head table; the CLI; light imports."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.errors import ConfigError, NoTrainedHeads
from core.models import registry as reg

ROOT = Path(__file__).resolve().parent.parent


def _version(heads: Path, name: str, passed: bool = True) -> str:
    (heads / name).mkdir(parents=True)
    (heads / name / "metrics.json").write_text(json.dumps({"gate": {"passed": passed, "reason": "test"},
                                                           "best_val_loss": 1.0, "history": [{}]}))
    (heads / name / "config.json").write_text("{}")
    return name


def test_pointer_promote_rollback(tmp_path):
    heads = tmp_path / "heads"
    with pytest.raises(NoTrainedHeads):
        reg.resolve_version(heads)
    a = _version(heads, "v20240101_000000")
    b = _version(heads, "v20250101_000000")
    bad = _version(heads, "v20250201_000000", passed=False)
    _version(heads, "v20250301_000000")
    (heads / "v20250301_000000" / "config.json").unlink()  # incomplete run: not a version
    assert reg.list_versions(heads) == [a, b, bad]
    with pytest.raises(NoTrainedHeads, match="none promoted"):
        reg.resolve_version(heads)
    reg.promote(heads, b)
    assert reg.resolve_version(heads) == b and (heads / "LATEST").read_text().strip() == b
    with pytest.raises(ConfigError, match="failed its validation gate"):
        reg.promote(heads, bad)
    reg.rollback(heads, a)
    assert reg.resolve_version(heads, "latest") == a and reg.resolve_version(heads, b) == b
    with pytest.raises(NoTrainedHeads, match="not found"):
        reg.rollback(heads, "v19990101_000000")
    history = [json.loads(line) for line in (heads / "history.jsonl").read_text().splitlines()]
    assert [(h["action"], h["from"], h["to"]) for h in history] == [("promote", None, b), ("rollback", b, a)]
    (heads / "LATEST").write_text("v20990101_000000\n")
    with pytest.raises(NoTrainedHeads, match="not a complete version"):
        reg.resolve_version(heads)


def test_prune_keeps_latest_and_recent(tmp_path):
    heads = tmp_path / "heads"
    old, older, recent = (_version(heads, n) for n in ("v20240101_000000", "v20230101_000000", "v20250601_000000"))
    reg.promote(heads, older)
    now = datetime(2025, 6, 10, tzinfo=UTC)
    assert reg.prune(heads, 90, now=now, dry_run=True) == ([old], {older: "LATEST points at it"})
    assert reg.list_versions(heads) == [older, old, recent]
    assert reg.prune(heads, 90, now=now)[0] == [old]
    assert reg.list_versions(heads) == [older, recent]


def test_prune_spares_the_canary_and_versions_stored_results_name(tmp_path):
    from core.serving import route, set_canary

    heads = tmp_path / "heads"
    stable, candidate, used, unused = (_version(heads, n) for n in (
        "v20250601_000000", "v20240101_000000", "v20240201_000000", "v20240301_000000"))
    reg.promote(heads, stable)
    set_canary(heads, candidate, share=0.5)
    now = datetime(2025, 6, 10, tzinfo=UTC)
    gone, kept = reg.prune(heads, 90, now=now, referenced={used})
    assert gone == [unused]
    assert kept == {candidate: "the canary routes requests to it",
                    used: "stored results name it (--include-referenced to delete anyway)"}
    # The canary still serves: its version folder is there for every text routed to it.
    keys = [hashlib.sha256(f"text {i}".encode()).hexdigest() for i in range(50)]
    routed = {route(stable, reg.read_canary(heads), k) for k in keys}
    assert candidate in routed and all((heads / v).is_dir() for v in routed)
    assert reg.prune(heads, 90, now=now, referenced={used}, include_referenced=True)[0] == [used]


def test_version_names_are_unique_within_a_second(tmp_path):
    now = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    first = reg.new_version_name(tmp_path, now)
    (tmp_path / first).mkdir()
    assert (first, reg.new_version_name(tmp_path, now)) == ("v20250102_030405", "v20250102_030405_2")
    assert reg.VERSION_RE.match("v20250102_030405_2")


def test_models_cli(tmp_path, capsys):
    from core.cli import main

    heads = tmp_path / "heads"
    a, b = _version(heads, "v20240101_000000"), _version(heads, "v20250101_000000")
    assert main(["models", "--dir", str(heads), "promote", b]) == 0
    assert main(["models", "--dir", str(heads), "rollback", a]) == 0
    assert main(["models", "--dir", str(heads), "list"]) == 0
    out = capsys.readouterr().out
    assert f"* {a}" in out and f"  {b}" in out
    assert main(["models", "--dir", str(heads), "prune", "--keep-days", "0"]) == 0
    assert reg.list_versions(heads) == [a]


def test_head_table():
    from core.models.heads import HEAD_NAMES, HEADS, get_head

    assert HEAD_NAMES == ["sentiment", "family_history", "trauma", "isolation", "support"]
    assert [(h.low, h.high) for h in HEADS] == [(-1, 1), (0, 1), (0, 7), (0, 4), (0, 4)]
    for h in HEADS:
        assert h.bands[-1][0] == h.high and [b for b, _ in h.bands] == sorted(b for b, _ in h.bands)
    assert get_head("support").worse_when == "low"
    with pytest.raises(KeyError):
        get_head("mood")


def test_light_modules_do_not_import_torch():
    code = ("import sys, core.models.heads, core.models.registry, core.commands.heads, core.models.evaluation, core.cli;"
            "print('torch' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_shipped_checkpoint_is_small_and_complete():
    from core.settings import load_settings

    heads = Path(load_settings(env={}).heads_dir)
    version = reg.resolve_version(heads)
    vdir = heads / version
    size = sum(p.stat().st_size for p in heads.rglob("*") if p.is_file())
    assert size < 5_000_000
    cfg = json.loads((vdir / "config.json").read_text())
    assert cfg["backbone_id"] == "embedded:all-MiniLM-L6-v2" and cfg["backbone_fingerprint"]
    assert "synthetic" in cfg["training_data"]
    assert json.loads((vdir / "metrics.json").read_text())["gate"]["passed"] is True
    # Drift monitoring works out of the box: the shipped version carries its reference distribution.
    ref = json.loads((vdir / "reference.json").read_text())
    assert set(ref["heads"]) == set(cfg["target_scaling"]) and ref["n"] >= 100


@pytest.mark.shared
def test_external_checks_read_real_labels(shared_data):
    from core.models.evaluation import load_checks

    checks = {(c.name, c.head): c for c in load_checks(shared_data)}
    irf = checks[("Irf thwarted belongingness", "isolation")]
    assert len(irf.texts) > 1000 and 0.6 < irf.labels.mean() < 0.85
    trauma = checks[("counsel-chat topic = trauma", "trauma")]
    assert 700 < len(trauma.texts) < 900 and 15 <= trauma.labels.sum() <= 40
    assert not any("Consider this post" in t for t in irf.texts)
