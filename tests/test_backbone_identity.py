"""The shipped heads must load on any machine: the backbone's identity does not depend on its install path."""

import shutil

import pytest


@pytest.mark.slow
def test_fingerprint_is_the_same_from_another_install_path(tmp_path):
    from core.hardware import embedded_encoder_dir
    from core.models.checkpoint import backbone_fingerprint, load_backbone

    here = embedded_encoder_dir()
    elsewhere = tmp_path / "another-venv" / "model"
    shutil.copytree(here, elsewhere)
    a, _ = load_backbone(str(here))
    b, _ = load_backbone(str(elsewhere))
    assert backbone_fingerprint(a) == backbone_fingerprint(b)


@pytest.mark.slow
def test_shipped_heads_match_the_installed_backbone(settings):
    from core.models.encoder import load_encoder

    enc = load_encoder(settings)
    assert enc.version.startswith("v")
