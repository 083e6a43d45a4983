"""One typed settings object for the whole product.

Values come from, in increasing priority: the defaults below, an optional TOML
file (``MHD_CONFIG`` or ``./mhdash.toml``; keys are the field names), and
environment variables ``MHD_<FIELD>`` (upper case). The defaults run the
embedded models that install from PyPI, so nothing is downloaded.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from core.errors import ConfigError, WeakDatabaseKey

ROOT = Path(__file__).resolve().parent.parent

# Sentinel values naming the models that ship inside PyPI packages.
EMBEDDED_ENCODER = "embedded:all-MiniLM-L6-v2"
EMBEDDED_LLM = "embedded:SmolLM2-135M-Instruct"

Quantization = Literal["none", "8bit", "4bit"]
Device = Literal["auto", "cpu", "cuda"]
Runtime = Literal["torch", "onnx"]


@dataclass(frozen=True)
class Settings:
    # --- storage -------------------------------------------------------
    # Runtime state (database, model caches); created with mode 0700.
    data_dir: Path = ROOT / "var"
    # Main database; defaults to <data_dir>/mhdash.db when empty.
    db_path: Path | None = None
    # Demo cohort lives in its own database so it never mixes with PHI.
    demo_db_path: Path | None = None
    # Converted model weights, embedding caches, ONNX exports; defaults to <data_dir>/cache.
    # No PHI is stored here, so several data dirs (tests, demo machines) may share one.
    cache_path: Path | None = None
    # Encryption at rest (SQLCipher): passphrase for every database file; "" = plain SQLite.
    # Set it from MHD_DB_KEY or db_key_file, never in a committed mhdash.toml. At least 16 characters,
    # not a placeholder. Losing it loses the data: backups are encrypted with the same passphrase.
    db_key: str = field(default="", repr=False)
    # File holding the passphrase (e.g. /run/secrets/mhdash_db_key, mode 0600), read when db_key is empty.
    db_key_file: Path | None = None
    # Key of the audit trail's HMAC chain and checkpoints, kept outside the database (MHD_AUDIT_KEY, at least
    # 32 characters). Empty: read audit_key_file, else <folder of the database>/audit.key (created, mode 0600).
    # Whoever can read it can rewrite the trail undetected (except against checkpoints kept off the host).
    audit_key: str = field(default="", repr=False)
    audit_key_file: Path | None = None

    # --- encoder + heads (multi-task psychosocial model) ----------------
    # Hub id, local directory, or EMBEDDED_ENCODER. Production: "xlm-roberta-large".
    encoder_backbone: str = EMBEDDED_ENCODER
    # Folder of versioned heads checkpoints (v*/ plus a `latest` pointer).
    heads_dir: Path = ROOT / "data" / "models" / "heads"
    # Version to load; "latest" follows the pointer.
    heads_version: str = "latest"
    # Reference band of the psycholinguistic indicators (IQR of not-depressed social-media posts), built by
    # `python -m core build-indicator-reference`.
    indicators_reference: Path = ROOT / "data" / "models" / "indicators" / "reference.json"


    # Folder of versioned IMHI task heads (one classifier per IMHI question on the same backbone's
    # pooled embeddings; `python -m core train-task-heads`). Tasks they cover take their label from them.
    task_heads_dir: Path = ROOT / "data" / "models" / "task-heads"
    # Task-heads version to load; "latest" follows the pointer.
    task_heads_version: str = "latest"
    # torch, or onnx (onnxruntime, after `python -m core export-onnx`).
    encoder_runtime: Runtime = "torch"
    # Monte-Carlo dropout passes used for per-head uncertainty.
    mc_dropout_passes: int = 8

    # --- LLM (MentaLLaMA-style) ----------------------------------------
    # Hub id, local directory, GGUF file path, or EMBEDDED_LLM.
    # Production: "lmsys/vicuna-33b-v1.3".
    llm_base: str = EMBEDDED_LLM
    # LoRA adapter directory or hub id; "" for none.
    # Production: "klyang/MentaLLaMA-33B-lora".
    llm_adapter: str = str(ROOT / "data" / "models" / "lora-smollm2-imhi")
    # Reasoning reader: infers the label of an answer that states none from its reasoning
    # (`python -m core train-parser`); used by `parse`.
    reasoning_reader: Path = ROOT / "data" / "models" / "reasoning-reader"
    # Fold the adapter into the base weights after loading (faster decode).
    llm_merge_adapter: bool = False
    # none | 8bit | 4bit (bitsandbytes; needs CUDA).
    quantization: Quantization = "none"
    # Longest rationale, in new tokens.
    max_new_tokens: int = 96

    # --- hardware --------------------------------------------------------
    # auto picks CUDA when present, else CPU.
    device: Device = "auto"

    # --- remote backends (dashboard uses servers instead of in-process models)
    # Base URL of this project's API for the encoder; "" = in-process.
    encoder_url: str = ""
    # Base URL of an OpenAI-compatible completions server; "" = in-process.
    llm_url: str = ""
    # Bearer token for the API (serve and clients); "" disables serving. Sent only to https or loopback servers.
    api_token: str = field(default="", repr=False)
    # Largest request body the API reads, in MB (checked from Content-Length before reading, and while reading).
    api_max_body_mb: int = 16
    # Requests per minute one client address may make to the API, and failed-token requests per minute
    # before it gets 429 with Retry-After.
    api_rate_per_minute: int = 1200
    api_auth_failures_per_minute: int = 20
    # Serve interactive API docs at /docs (behind the token, like /openapi.json); off by default.
    api_docs: bool = False

    # --- uploads ---------------------------------------------------------
    max_upload_mb: int = 10
    # Longest visit text accepted, in characters.
    max_text_chars: int = 200_000

    # --- security --------------------------------------------------------
    # Log out after this many idle minutes.
    idle_timeout_minutes: int = 15
    # Failed logins before an account is locked, and for how long.
    lockout_threshold: int = 5
    lockout_minutes: int = 15
    # Login attempts per minute from one client address (and for one username) before logins are throttled.
    login_rate_per_minute: int = 20

    # --- UI ----------------------------------------------------------------
    port: int = 8501
    # Load the encoder, then the language model, in the background when the dashboard starts, so neither the
    # first patient nor the first question waits on an unannounced load (off: each loads on first use).
    llm_warmup: bool = True
    # Run the background queue of language-model rationales in the dashboard process (one worker thread).
    # Off: queued rationales wait until a dashboard process with the worker on picks them up.
    rationale_worker: bool = True
    # Visits compared by the trend test.
    trend_window: int = 4

    # ------------------------------------------------------------------
    @property
    def database(self) -> Path:
        return Path(self.db_path) if self.db_path else Path(self.data_dir) / "mhdash.db"

    @property
    def demo_database(self) -> Path:
        if self.demo_db_path:
            return Path(self.demo_db_path)
        return Path(self.data_dir) / "demo.db"

    @property
    def database_key(self) -> str:
        """The database passphrase: db_key, else the contents of db_key_file (surrounding whitespace dropped)."""
        if self.db_key or not self.db_key_file:
            return self.db_key
        try:
            return Path(self.db_key_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"db_key_file {self.db_key_file}: cannot read it ({exc})") from exc

    @property
    def cache_dir(self) -> Path:
        return Path(self.cache_path) if self.cache_path else Path(self.data_dir) / "cache"

    def replace(self, **changes) -> Settings:
        return dataclasses.replace(self, **changes)


def _coerce(name: str, hint, raw):
    """Turn a TOML/env value into the field's declared type."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        allowed = typing.get_args(hint)
        if raw not in allowed:
            raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {raw!r}")
        return raw
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    base = args[0] if origin is not None and args else hint
    if raw in ("", None) and type(None) in typing.get_args(hint):
        return None
    try:
        if base is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if base is int:
            return int(raw)
        if base is Path:
            return Path(raw).expanduser()
        if base is str:
            return str(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}: cannot read {raw!r} as {getattr(base, '__name__', base)}") from exc
    return raw


def load_settings(env: dict | None = None, config_file: Path | None = None, **overrides) -> Settings:
    """Build Settings from defaults, a TOML file, the environment and overrides.

    With an explicit ``env`` (tests, tools) nothing is read from the real environment, and
    ``./mhdash.toml`` only when that env names it in ``MHD_CONFIG``: the result is reproducible.
    """
    default_file = ROOT / "mhdash.toml" if env is None else None
    env = dict(os.environ if env is None else env)
    hints = typing.get_type_hints(Settings)
    values: dict = {}
    path = config_file or env.get("MHD_CONFIG") or default_file
    if path is None:
        path = ROOT / ".no-config"  # never exists: defaults and overrides only
    path = Path(path)
    if path.exists():
        try:
            values.update(tomllib.loads(path.read_text(encoding="utf-8")))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    elif config_file or env.get("MHD_CONFIG"):
        raise ConfigError(f"Config file {path} does not exist")
    for name in hints:
        key = f"MHD_{name.upper()}"
        if key in env:
            values[name] = env[key]
    values.update(overrides)
    unknown = set(values) - set(hints)
    if unknown:
        raise ConfigError(f"Unknown setting(s): {', '.join(sorted(unknown))}")
    kwargs = {k: _coerce(k, hints[k], v) for k, v in values.items()}
    settings = Settings(**kwargs)
    if settings.max_upload_mb <= 0:
        raise ConfigError("max_upload_mb must be positive")
    if settings.database_key:
        check_db_key(settings.database_key)
    return settings


_PLACEHOLDER_KEYS = {"changeme", "change-me", "change_me", "secret", "placeholder", "password", "passphrase",
                     "test", "testkey", "test-key", "key", "dbkey", "db-key", "db_key", "your-key", "yourkey",
                     "your_key_here", "mhdash", "none", "null", "xxx", "example", "default"}
MIN_DB_KEY_LENGTH = 16


def check_db_key(key: str) -> str:
    """``key`` if it may encrypt the database; WeakDatabaseKey when it is a placeholder or too short."""
    folded = key.strip().lower()
    squashed = folded.replace("-", "").replace("_", "").replace(" ", "")
    if folded in _PLACEHOLDER_KEYS or "changeme" in squashed or len(set(squashed)) < 4:
        raise WeakDatabaseKey("db_key is a placeholder; set MHD_DB_KEY to a long random passphrase "
                              "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
    if len(key) < MIN_DB_KEY_LENGTH:
        raise WeakDatabaseKey(f"db_key is too short ({len(key)} characters); use at least {MIN_DB_KEY_LENGTH}")
    return key


PRODUCTION_PROFILE = {
    "encoder_backbone": "xlm-roberta-large",
    "llm_base": "lmsys/vicuna-33b-v1.3",
    "llm_adapter": "klyang/MentaLLaMA-33B-lora",
    "quantization": "4bit",
    "device": "cuda",
}
