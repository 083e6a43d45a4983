import pytest

from core.errors import ConfigError
from core.settings import EMBEDDED_ENCODER, load_settings


def test_defaults_are_the_embedded_models(tmp_path):
    s = load_settings(env={}, config_file=None)
    assert s.encoder_backbone == EMBEDDED_ENCODER
    assert s.quantization == "none" and s.device == "auto" and s.port == 8501


def test_toml_then_env_override(tmp_path):
    cfg = tmp_path / "m.toml"
    cfg.write_text('quantization = "4bit"\nmax_upload_mb = 5\nport = 9000\n')
    s = load_settings(env={"MHD_PORT": "9100", "MHD_LLM_MERGE_ADAPTER": "true"}, config_file=cfg)
    assert (s.quantization, s.max_upload_mb, s.port, s.llm_merge_adapter) == ("4bit", 5, 9100, True)


@pytest.mark.parametrize("env", [{"MHD_QUANTIZATION": "3bit"}, {"MHD_PORT": "eighty"}, {"MHD_DEVICE": "tpu"},
                                 {"MHD_MAX_UPLOAD_MB": "0"}, {"MHD_DB_KEY": "changeme"}, {"MHD_DB_KEY": "too-short"}])
def test_bad_values_are_named(env):
    with pytest.raises(ConfigError):
        load_settings(env=env)


def test_unknown_key_in_toml_is_refused(tmp_path):
    cfg = tmp_path / "m.toml"
    cfg.write_text("colour = 'blue'\n")
    with pytest.raises(ConfigError, match="colour"):
        load_settings(env={}, config_file=cfg)


def test_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError):
        load_settings(env={"MHD_CONFIG": str(tmp_path / "nope.toml")})


def test_explicit_env_ignores_the_working_copys_config_file(tmp_path, monkeypatch):
    """A developer's ./mhdash.toml (say, the production profile) applies to the app, never to code that passes
    its own environment (the test suite, tools)."""
    from core import settings as mod

    (tmp_path / "mhdash.toml").write_text('quantization = "4bit"\ndevice = "cuda"\n')
    monkeypatch.setattr(mod, "ROOT", tmp_path)
    monkeypatch.delenv("MHD_CONFIG", raising=False)
    assert mod.load_settings(env={}).quantization == "none"
    assert mod.load_settings().quantization == "4bit"  # the real environment reads it


def test_db_key_defaults_to_plain_and_never_shows_in_repr():
    assert load_settings(env={}).database_key == ""
    s = load_settings(env={"MHD_DB_KEY": "a-long-random-passphrase-for-tests"})
    assert s.database_key == "a-long-random-passphrase-for-tests"
    assert "a-long-random-passphrase" not in repr(s)


def test_secrets_stay_out_of_repr():
    from core.settings import load_settings

    s = load_settings(env={}, api_token="api-token-" + "q" * 30, audit_key="audit-key-" + "w" * 30)
    assert "qqqqqqqqqq" not in repr(s) and "wwwwwwwwww" not in repr(s)


def test_streamlit_upload_limit_matches_the_product_limit():
    import tomllib
    from pathlib import Path

    from core.settings import Settings

    root = Path(__file__).resolve().parent.parent
    config = tomllib.loads((root / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == Settings().max_upload_mb
    assert "--server.maxUploadSize $$upload_mb" in (root / "Makefile").read_text()
