"""Token attributions go through one core route: access, consent, in-process model, audit."""

import pytest

from core.backends import RemoteEncoder
from core.clinical import patients
from core.clinical.attributions import explain_visit
from core.errors import ConsentRequired, PermissionDenied, RemoteUnsupported
from core.storage.audit import list_events


class _Untouchable:
    """Stands where the encoder goes when the call must be refused before any model runs."""

    def __getattr__(self, name):
        raise AssertionError(f"the encoder was used ({name}) although the call must be refused first")


@pytest.fixture
def visit(app_env):
    psy = app_env.ctx("psy")
    pid = patients.create_patient(psy, "P-EXPLAIN", consent_ml=True)
    vid = patients.add_visit(psy, pid, "2026-02-01", "Client feels alone since the move; no friends nearby.")
    return pid, vid


def test_another_psychiatrists_patient_is_refused_before_the_model(app_env, visit):
    with pytest.raises(PermissionDenied):
        explain_visit(app_env.ctx("psy2"), visit[1], "isolation", _Untouchable())


def test_no_consent_no_attributions(app_env):
    psy = app_env.ctx("psy")
    pid = patients.create_patient(psy, "P-NOCONSENT", consent_ml=False)
    vid = patients.add_visit(psy, pid, "2026-02-01", "Client reports nightmares.")
    with pytest.raises(ConsentRequired):
        explain_visit(psy, vid, "trauma", _Untouchable())


def test_remote_encoder_is_refused_with_the_setting_to_change(app_env, visit):
    remote = RemoteEncoder(url="http://127.0.0.1:9", token="t" * 20, version="v", model_id="m", head_names=[])
    with pytest.raises(RemoteUnsupported, match="encoder_url"):
        explain_visit(app_env.ctx("psy"), visit[1], "trauma", remote)


@pytest.mark.slow
def test_attributions_are_audited_with_the_model_version(app_env, visit):
    from core.models.encoder import load_encoder
    from core.settings import load_settings

    encoder = load_encoder(load_settings(env={}))  # the shipped heads on the embedded backbone
    psy = app_env.ctx("psy")
    pairs = explain_visit(psy, visit[1], "isolation", encoder)
    assert pairs and all(isinstance(w, str) for w, _ in pairs)
    events = [e for e in list_events(psy.store) if e["action"] == "model.explain"]
    assert len(events) == 1
    assert str(events[0]["entity_id"]) == str(visit[1]) and encoder.version in str(events[0])


def test_progression_checks_access_before_reading_any_visit(app_env, visit):
    """With one visit, the old order answered another clinician 'needs at least two visits': a read before the check."""
    from core.clinical.analysis import run_progression

    with pytest.raises(PermissionDenied):
        run_progression(app_env.ctx("psy2"), visit[0], _Untouchable())
